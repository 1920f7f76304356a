import { decodeTimestampToTimeSpec, encodeTimeSpecToTimestamp } from '@msgpack/msgpack';

/** MessagePack's reserved extension type for timestamps. */
export const TIMESTAMP_EXT_TYPE = -1;

/**
 * A MessagePack timestamp (ext type -1), kept to the nanosecond. A `Date`
 * holds milliseconds only, so decoding to one would not round-trip what a
 * Python peer sent.
 */
export class ArrpcTimestamp {
  constructor(
    /** Whole seconds since the Unix epoch; negative before 1970. */
    readonly seconds: number,
    /** Nanoseconds within the second, 0 to 999,999,999. */
    readonly nanoseconds: number,
  ) {}

  static fromDate(date: Date): ArrpcTimestamp {
    const ms = date.getTime();
    const seconds = Math.floor(ms / 1000);
    return new ArrpcTimestamp(seconds, (ms - seconds * 1000) * 1e6);
  }

  /** Reads the ext payload; `undefined` when it is not 4, 8 or 12 valid bytes. */
  static fromExtData(data: Uint8Array): ArrpcTimestamp | undefined {
    if (data.length !== 4 && data.length !== 8 && data.length !== 12) return undefined;
    const { sec, nsec } = decodeTimestampToTimeSpec(data);
    return nsec < 1e9 ? new ArrpcTimestamp(sec, nsec) : undefined;
  }

  /** The ext payload in its shortest form (32, 64 or 96 bits), as Python writes it. */
  toExtData(): Uint8Array {
    return encodeTimeSpecToTimestamp({ sec: this.seconds, nsec: this.nanoseconds });
  }

  toDate(): Date {
    return new Date(this.seconds * 1000 + Math.floor(this.nanoseconds / 1e6));
  }
}
