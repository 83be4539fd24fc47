import { CfnCondition, CfnOutput, CfnParameter, Fn, Token } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { httpRoutes } from '../../functions/manifest';
import { StackPart } from './stack-part';

export interface BridgeSettingsProps {
  /** The bridge's public base URL (no trailing slash): the Redirect URI defaults to its install route. */
  readonly publicApiUrl: string;
}

/**
 * Non-secret settings, as parameters so that synth needs none and deploy takes `--parameters`.
 * The constraints mirror the handlers' own validation (functions/core/config.ts), so a bad value
 * fails the deployment instead of every cold start.
 */
export class BridgeSettings extends StackPart {
  /** The settings as the functions' environment variables, by variable name. */
  readonly environment: Readonly<Record<string, string>>;
  /** The integration's Redirect URI: the KommoRedirectUri parameter, or this API's install route. */
  readonly redirectUri: string;

  constructor(scope: Construct, id: string, props: BridgeSettingsProps) {
    super(scope, id);
    const chatServiceUrl = new CfnParameter(this, 'ChatServiceUrl', {
      type: 'String',
      description: "URL the bridge POSTs signed events to, the chat service's webhook endpoint (CHAT_SERVICE_URL).",
      allowedPattern: '^https?://\\S+$',
      constraintDescription: 'an http(s) URL',
    });
    const kommoApiUrl = new CfnParameter(this, 'KommoApiUrl', {
      type: 'String',
      description: 'Kommo amojo base URL (KOMMO_API_URL).',
      default: 'https://amojo.kommo.com',
      allowedPattern: '^https?://\\S+$',
      constraintDescription: 'an http(s) URL',
    });
    const kommoHookForwardUrl = new CfnParameter(this, 'KommoHookForwardUrl', {
      type: 'String',
      description:
        'Optional: where Kommo hooks the bridge does not consume are forwarded (KOMMO_HOOK_FORWARD_URL). Empty: not forwarded.',
      default: '',
      allowedPattern: '^(https?://\\S+)?$',
      constraintDescription: 'empty, or an http(s) URL',
    });
    const chatServiceStatusUrl = new CfnParameter(this, 'ChatServiceStatusUrl', {
      type: 'String',
      description:
        "Optional: the chat service's delivery-status URL with {msgid} (CHAT_SERVICE_STATUS_URL), polled after each message a Kommo user sends. Empty: statuses are only pushed.",
      default: '',
      allowedPattern: '^(https?://[^\\s/?#{}]+[/?][^\\s]*\\{msgid\\}\\S*)?$',
      constraintDescription: 'empty, or an http(s) URL with {msgid} in its path or query',
    });
    const typingRefreshSeconds = new CfnParameter(this, 'TypingRefreshSeconds', {
      type: 'Number',
      description: 'Seconds between the typing calls that keep "typing" shown in Kommo (TYPING_REFRESH_SECONDS).',
      default: 4,
      // Kommo shows typing for 5 s after a call, so a refresh every 4 s at most leaves no gap.
      minValue: 1,
      maxValue: 4,
    });
    const kommoRedirectUri = new CfnParameter(this, 'KommoRedirectUri', {
      type: 'String',
      description:
        "The Kommo integration's Redirect URI (KOMMO_REDIRECT_URI), exactly as registered in Kommo: installs exchange their code with it, and widget " +
        "one-time tokens carry its origin as aud. Empty: this API's own /kommo/install (the KommoRedirectUri output); set it when Kommo knows the " +
        'bridge by another name (a custom domain routed to this API).',
      default: '',
      allowedPattern: '^(https?://\\S+)?$',
      constraintDescription: 'empty, or an http(s) URL',
    });
    const kommoClientId = new CfnParameter(this, 'KommoClientId', {
      type: 'String',
      description:
        "The Kommo integration's id (KOMMO_CLIENT_ID), from the integration's keys in Kommo. Empty: /kommo/install and /kommo/uninstall answer 503, not configured.",
      default: '',
      allowedPattern: '^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$',
      constraintDescription: 'empty, or the integration id (a UUID)',
    });
    const kommoAccountUrl = new CfnParameter(this, 'KommoAccountUrl', {
      type: 'String',
      description:
        "Optional: where an install reaches the Kommo account's own API (KOMMO_ACCOUNT_URL), a URL with {subdomain}, for a stand-in of Kommo. " +
        "Empty: the account's own host (https://<subdomain>.kommo.com, or the account's amoCRM domain).",
      default: '',
      allowedPattern: '^(https?://[^\\s?#{}]*\\{subdomain\\}[^\\s?#{}]*)?$',
      constraintDescription: 'empty, or an http(s) URL with {subdomain}, without query or fragment',
    });
    // Not "KommoClientId": CloudFormation wants logical ids unique across parameters and outputs.
    new CfnOutput(this, 'KommoIntegrationClientId', {
      description:
        'The KommoClientId parameter as deployed (empty: not set yet, installs answer 503); npm run deploy:check reads it.',
      value: kommoClientId.valueAsString,
    });
    const installRoute = httpRoutes.find(
      (route) => route.function === 'kommo-install' && route.path.endsWith('/install'),
    );
    if (!installRoute)
      throw new Error(
        'The manifest has no install route for kommo-install, so the stack has no Redirect URI to default to',
      );
    // One value for the code exchange and for the widget tokens' aud, so the two cannot disagree.
    const redirectUriGiven = new CfnCondition(this, 'KommoRedirectUriGiven', {
      expression: Fn.conditionNot(Fn.conditionEquals(kommoRedirectUri.valueAsString, '')),
    });
    this.redirectUri = Token.asString(
      Fn.conditionIf(
        redirectUriGiven.logicalId,
        kommoRedirectUri.valueAsString,
        `${props.publicApiUrl}${installRoute.path}`,
      ),
    );
    // No channel id here: Kommo issues the channel only after it has the webhook URL this stack outputs,
    // so the id is filled in afterwards, in the kommo-channel-id secret, and needs no redeploy.
    this.environment = {
      CHAT_SERVICE_URL: chatServiceUrl.valueAsString,
      KOMMO_API_URL: kommoApiUrl.valueAsString,
      KOMMO_HOOK_FORWARD_URL: kommoHookForwardUrl.valueAsString,
      CHAT_SERVICE_STATUS_URL: chatServiceStatusUrl.valueAsString,
      TYPING_REFRESH_SECONDS: Token.asString(typingRefreshSeconds.value),
      KOMMO_REDIRECT_URI: this.redirectUri,
      KOMMO_CLIENT_ID: kommoClientId.valueAsString,
      KOMMO_ACCOUNT_URL: kommoAccountUrl.valueAsString,
    };
  }
}
