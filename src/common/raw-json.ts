/**
 * A JSON value kept as its text: checked to be valid JSON, not built into JS values. Task params
 * travel this way from the request body to the database and from the database to GET answers
 * (the callback sends the stored text), so they are stored, returned and delivered exactly as the
 * client wrote them: every key (`__proto__` and `constructor` included) in its order, every digit
 * of every number.
 *
 * Built values are also what makes params costly: a 1 MiB array of small arrays is half a million
 * objects to allocate and for the validation pipe to walk. Text is one string, which the pipe
 * (class-transformer, Nest's prototype-key stripping) passes over in constant time.
 */
export class RawJson {
  /** The default lets class-transformer copy an instance by calling the constructor bare. */
  constructor(readonly text: string = 'null') {}
}
