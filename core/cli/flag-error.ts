/** A flag value a program cannot use; its CLI exits 2 with this message. */
export class FlagError extends Error {
  constructor(flag: string, value: string, accepts: string) {
    super(`invalid value for --${flag}: ${JSON.stringify(value)} (accepts ${accepts})`);
    this.name = 'FlagError';
  }
}
