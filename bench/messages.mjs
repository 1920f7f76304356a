// The two payloads of the benchmark issue: a small map and a ~1 KiB record.

export const SMALL = { foo: 'bar', n: 123 };

/** 16 items of 5 fields, a user and a note: about 1 KiB once encoded. */
export const RECORD = {
  items: Array.from({ length: 16 }, (_, i) => ({
    id: 1000 + i,
    name: `item-${i}`,
    price: 9.99 + i,
    tags: ['new', 'sale'],
    active: i % 2 === 0,
  })),
  user: { id: 42, name: 'Ada Lovelace', email: 'ada@example.com', roles: ['admin'] },
  note: 'The quick brown fox jumps over the lazy dog. '.repeat(4),
};

export const MESSAGES = { small: SMALL, record: RECORD };
