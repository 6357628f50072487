import { createRequire } from 'node:module';

/** provision's version, read from package.json at run time (src/contract/ and dist/contract/ sit two levels below it). */
export const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
