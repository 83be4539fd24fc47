import { en } from 'zod/locales';
import * as z from 'zod/mini';

/**
 * zod for every schema of the bridge: `zod/mini`, whose functions a bundler can drop when unused (a
 * fraction of classic zod's size in each Lambda bundle, so a shorter cold start), with English messages.
 *
 * zod/mini ships without messages: unless a locale is configured, every issue reads "Invalid input".
 * Its messages reach the API's answers (`invalid_hook`), dead-letter reasons and log lines, so the English
 * locale classic zod loads by itself is configured here, once, before any schema parses. Import zod from
 * this module, never from the package (test/unit/zod-mini-only.test.ts).
 */
z.config(en());

export * from 'zod/mini';
