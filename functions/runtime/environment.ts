/** Environment variables, as `process.env` holds them. */
export type Environment = Record<string, string | undefined>;
