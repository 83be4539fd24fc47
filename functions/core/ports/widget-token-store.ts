/** Kommo widget one-time tokens already used, by `jti`: each token is accepted once (docs/contract.md, "Widget routes, v2"). */
export interface WidgetTokenStore {
  /**
   * Records the first use of token `tokenId`, remembered until `usableUntilSeconds` (epoch seconds,
   * when the token itself stops being accepted); false when it was used before.
   */
  claim(tokenId: string, usableUntilSeconds: number, nowMs: number): Promise<boolean>;
}
