import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MAX_ANSWER_BYTES,
  MAX_REMOTE_TEXT_CHARS,
  remoteText,
  sendHttp,
} from '../../functions/core/adapters/http/send-http';

/**
 * Answers are read through a byte cap: a party answering without end (or 256 MB) costs the bridge
 * 64 KiB, and the connection is closed instead of drained. A server here streams until its client
 * goes away, so a reader that buffered the whole answer would never return.
 */

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** A server that answers `status` with an endless body of `x`, and tells when its client hung up. */
async function givenEndlessAnswer(status = 200): Promise<{ url: string; hungUp: Promise<number> }> {
  let hangUp!: (written: number) => void;
  const hungUp = new Promise<number>((resolve) => {
    hangUp = resolve;
  });
  server = createServer((_request, response: ServerResponse) => {
    response.writeHead(status, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(16 * 1024, 'x');
    let written = 0;
    let open = true;
    response.on('close', () => {
      open = false;
      hangUp(written);
    });
    const pump = () => {
      while (open) {
        const more = response.write(chunk);
        written += chunk.length;
        if (!more) break;
      }
      if (open) response.once('drain', pump);
    };
    pump();
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}/status`, hungUp };
}

describe('sendHttp', () => {
  it(`reads at most ${MAX_ANSWER_BYTES} bytes of an endless answer, then closes the connection`, async () => {
    // Prepare
    const { url, hungUp } = await givenEndlessAnswer();

    // Act
    const answer = await sendHttp({ party: 'chat-service', url, method: 'GET', headers: {}, timeoutMs: 60_000 });

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.truncated).toBe(true);
    expect(Buffer.byteLength(answer.text)).toBe(MAX_ANSWER_BYTES);
    expect(await hungUp).toBeGreaterThan(0);
  });

  it('with answer "discard", reads nothing of the body: the status alone, the connection closed', async () => {
    // Prepare
    const { url, hungUp } = await givenEndlessAnswer(202);

    // Act
    const answer = await sendHttp({
      party: 'hook-forward',
      url,
      method: 'POST',
      headers: {},
      body: '{}',
      timeoutMs: 60_000,
      answer: 'discard',
    });

    // Assess
    expect(answer).toEqual({ status: 202, text: '', truncated: false });
    await hungUp;
  });

  it('reads a short answer whole', async () => {
    // Prepare
    server = createServer((_request, response) => response.end('{"ok":true}'));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

    // Act
    const answer = await sendHttp({ party: 'kommo', url, method: 'GET', headers: {}, timeoutMs: 60_000 });

    // Assess
    expect(answer).toEqual({ status: 200, text: '{"ok":true}', truncated: false });
  });
});

describe('remoteText', () => {
  it(`cuts another party's text to ${MAX_REMOTE_TEXT_CHARS} characters, the last one an ellipsis`, () => {
    // Act
    const cut = remoteText('y'.repeat(300_000));

    // Assess
    expect(cut).toHaveLength(MAX_REMOTE_TEXT_CHARS);
    expect(cut.endsWith('y…')).toBe(true);
  });

  it('keeps a short text as it is, and never cuts a surrogate pair in two', () => {
    expect(remoteText('short')).toBe('short');
    const cut = remoteText(`${'a'.repeat(498)}😀tail`);
    expect(cut).toBe(`${'a'.repeat(498)}…`);
  });
});
