import type { ApiResult } from '../core/http/api';
import { html, htmlPage, type Html } from '../core/http/html-page';
import { INSTALL_OUTCOME_STATUS, type InstallOutcome } from '../core/use-cases/kommo-install-requests';

const installAgain = html`Install the integration again from the Kommo account's settings (Settings → Integrations).`;
const nothingConnected = html`The bridge connected nothing and contacted no one.`;

/**
 * Every page the install route shows, by its outcome's code: fixed text, so nothing from the request
 * (its parameters) or from another host (Kommo's error text) ever appears on the bridge's own domain.
 * What went wrong in detail is in the bridge's log, under the same code.
 */
const INSTALL_PAGES = {
  connected: {
    title: 'Connected',
    paragraphs: [
      html`The Kommo account is connected to Kommo Live Bridge: its chats get typing, presence and read status through the bridge.`,
      html`You can close this page.`,
    ],
  },
  no_longer_connected: {
    title: 'Not connected',
    paragraphs: [
      html`This installation was made, but the account has been disconnected since (the integration was uninstalled, or an operator disconnected it).`,
      installAgain,
    ],
  },
  access_denied: {
    title: 'Not connected',
    paragraphs: [
      html`Access was not allowed in Kommo, so the bridge connected nothing.`,
      html`To connect the account, install the integration again and allow access.`,
    ],
  },
  duplicate_parameter: {
    title: 'Not connected',
    paragraphs: [html`The address carries a parameter more than once, which Kommo never does.`, installAgain],
  },
  kommo_error: {
    title: 'Not connected',
    paragraphs: [
      html`Kommo reported an error instead of an authorization code; the bridge connected nothing.`,
      installAgain,
    ],
  },
  no_code: {
    title: 'Not connected',
    paragraphs: [
      html`The address carries no authorization code (<code>code</code>). This page is opened by Kommo when the integration is installed.`,
      installAgain,
    ],
  },
  bad_code: {
    title: 'Not connected',
    paragraphs: [html`The authorization code (<code>code</code>) is not one Kommo issues.`, installAgain],
  },
  no_referer: {
    title: 'Not connected',
    paragraphs: [html`The address names no Kommo account (<code>referer</code>).`, installAgain],
  },
  not_an_account: {
    title: 'Not connected',
    paragraphs: [
      html`<code>referer</code> is not a Kommo account address: it must be <code>&lt;account&gt;.kommo.com</code>, <code>&lt;account&gt;.amocrm.com</code> or <code>&lt;account&gt;.amocrm.ru</code>, and not one of Kommo's own services (www, help, status, api…).`,
      nothingConnected,
    ],
  },
  bad_platform: {
    title: 'Not connected',
    paragraphs: [
      html`<code>platform</code> must be 1 (amocrm.ru) or 2 (kommo.com, amocrm.com), and match the account's address.`,
      nothingConnected,
    ],
  },
  too_many_installs: {
    title: 'Not connected',
    paragraphs: [
      html`Too many installations were tried for this account, or from this address, in the last minutes; the bridge contacted no one.`,
      html`Install the integration again in ten minutes.`,
    ],
  },
  in_progress: {
    title: 'Connecting…',
    paragraphs: [
      html`This installation is still being processed. Reload this page in a few seconds to see how it ended.`,
    ],
  },
  code_used_elsewhere: {
    title: 'Not connected',
    paragraphs: [html`This authorization code was already used for another account address.`, installAgain],
  },
  code_refused: {
    title: 'Not connected',
    paragraphs: [
      html`Kommo refused the authorization code: a code works once, for 20 minutes. The bridge connected nothing.`,
      installAgain,
      html`If this keeps happening, the bridge's integration settings (<code>KOMMO_CLIENT_ID</code>, the secret key, <code>KOMMO_REDIRECT_URI</code>) differ from the integration's in Kommo.`,
    ],
  },
  kommo_failed: {
    title: 'Not connected',
    paragraphs: [
      html`Kommo could not be reached, or answered what it should not, so nothing was connected.`,
      installAgain,
    ],
  },
  account_bound_elsewhere: {
    title: 'Not connected',
    paragraphs: [
      html`This Kommo account, or its chat account, is already connected to the bridge together with another account, so nothing was changed.`,
      html`The bridge's operator must disconnect it first; then install again.`,
    ],
  },
  account_change_in_progress: {
    title: 'Not connected',
    paragraphs: [
      html`Another connection or disconnection of this account is in progress, so nothing was changed.`,
      html`Install the integration again in a minute.`,
    ],
  },
  refused: {
    title: 'Not connected',
    paragraphs: [html`The bridge refused this installation; nothing was changed.`, installAgain],
  },
  failed: {
    title: 'Not connected',
    paragraphs: [html`The bridge could not finish the installation; it may not have been applied.`, installAgain],
  },
  not_configured: {
    title: 'Not configured',
    paragraphs: [
      html`This bridge does not take installs from Kommo yet: its integration settings are not set. Nothing was connected.`,
    ],
  },
} as const satisfies Record<InstallOutcome, { title: string; paragraphs: readonly Html[] }>;

/** The page for `code`, its code named at the end (what the operator finds in the log). */
export function installPage(code: InstallOutcome): ApiResult {
  const page = INSTALL_PAGES[code];
  return htmlPage(INSTALL_OUTCOME_STATUS[code], {
    title: page.title,
    paragraphs: [...page.paragraphs, html`<small>Code: ${code}</small>`],
  });
}
