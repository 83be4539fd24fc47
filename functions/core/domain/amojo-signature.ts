import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Kommo Chat API (amojo) request and webhook signatures.
 * Rules: docs/kommo.md, "Signing every request we send to Kommo" and "Webhooks Kommo sends us".
 * The channel secret is used as a plain ASCII key, never hex-decoded.
 */

export const AMOJO_CONTENT_TYPE = 'application/json';

/** Lowercase hex MD5 of the exact body bytes (the empty body has an MD5 too). */
export function contentMd5(body: string | Buffer): string {
  return createHash('md5').update(body).digest('hex');
}

const weekdays = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

/** RFC 2822 date with `+0000` (Kommo's examples; `GMT` is not what its guide signs). */
export function formatAmojoDate(date: Date): string {
  return (
    `${weekdays[date.getUTCDay()]}, ${pad(date.getUTCDate())} ${months[date.getUTCMonth()]} ${date.getUTCFullYear()} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}

/** Parses the `Date` header format above; `undefined` when it is not that format. */
export function parseAmojoDate(value: string): Date | undefined {
  const match =
    /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-]\d{4})$/.exec(value);
  if (!match) return undefined;
  const [, , day, month = '', year, hh, mm, ss, zone = ''] = match;
  const monthIndex = months.indexOf(month);
  if (monthIndex < 0) return undefined;
  const offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5)));
  const wallClock = new Date(Date.UTC(Number(year), monthIndex, Number(day), Number(hh), Number(mm), Number(ss)));
  // Date.UTC rolls 32 Dec over into January; a date that does not exist is not a date.
  if (
    wallClock.getUTCDate() !== Number(day) ||
    wallClock.getUTCHours() !== Number(hh) ||
    wallClock.getUTCMinutes() !== Number(mm) ||
    wallClock.getUTCSeconds() !== Number(ss)
  ) {
    return undefined;
  }
  return new Date(wallClock.getTime() - offsetMinutes * 60_000);
}

export interface AmojoRequestToSign {
  method: string;
  /** Path only: no scheme, host or query string. */
  path: string;
  /** The exact body string that will be sent. */
  body: string;
  date: Date | string;
  contentType?: string;
}

export interface AmojoSignedHeaders {
  Date: string;
  'Content-Type': string;
  'Content-MD5': string;
  'X-Signature': string;
}

export function amojoStringToSign(request: AmojoRequestToSign, md5: string, date: string): string {
  return [request.method.toUpperCase(), md5, request.contentType ?? AMOJO_CONTENT_TYPE, date, request.path].join('\n');
}

/** Headers for a request to amojo: HMAC-SHA1 over method, Content-MD5, Content-Type, Date and path. */
export function signAmojoRequest(request: AmojoRequestToSign, channelSecret: string): AmojoSignedHeaders {
  const date = typeof request.date === 'string' ? request.date : formatAmojoDate(request.date);
  const md5 = contentMd5(request.body);
  const signature = createHmac('sha1', channelSecret)
    .update(amojoStringToSign(request, md5, date))
    .digest('hex');
  return {
    Date: date,
    'Content-Type': request.contentType ?? AMOJO_CONTENT_TYPE,
    'Content-MD5': md5,
    'X-Signature': signature,
  };
}

/** `X-Signature` of a webhook Kommo sends: lowercase hex HMAC-SHA1 of the raw body only. */
export function signKommoHook(rawBody: Buffer | string, channelSecret: string): string {
  return createHmac('sha1', channelSecret).update(rawBody).digest('hex');
}

/** Constant-time comparison of two lowercase hex strings; any other shape is a mismatch. */
export function hexSignatureMatches(expected: string, presented: string | undefined): boolean {
  if (presented === undefined || !/^[0-9a-f]+$/.test(presented) || presented.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(expected, 'ascii'), Buffer.from(presented, 'ascii'));
}

/**
 * Verifies a Kommo webhook over its raw bytes. Some integrators see Kommo bodies with a trailing CR/LF
 * that was not signed, so the body with trailing `\r\n` trimmed is accepted as a second candidate.
 * Uppercase hex is refused: Kommo sends lowercase, and accepting other spellings widens the attack surface.
 */
export function verifyKommoHookSignature(
  rawBody: Buffer,
  presented: string | undefined,
  channelSecret: string,
): boolean {
  if (hexSignatureMatches(signKommoHook(rawBody, channelSecret), presented)) return true;
  let end = rawBody.length;
  while (end > 0 && (rawBody[end - 1] === 0x0a || rawBody[end - 1] === 0x0d)) end -= 1;
  return (
    end !== rawBody.length && hexSignatureMatches(signKommoHook(rawBody.subarray(0, end), channelSecret), presented)
  );
}
