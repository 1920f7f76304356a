// HTTP apps that call arrpc: the exception filter that answers failed calls with 502/503/504.
export { ArrpcHttpExceptionFilter, httpErrorBody, type ArrpcHttpErrorBody } from './arrpc-http-exception.filter.js';
