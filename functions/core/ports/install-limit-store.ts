/**
 * How many code exchanges installs made, per account host and per caller, in fixed windows
 * (docs/contract.md, "Installation and uninstall"): anyone can open the install URL, and each
 * exchange is a call carrying the integration's secret, so their number is bounded.
 */
export interface InstallLimitStore {
  /**
   * Counts one exchange against each of `keys` in the window starting at `windowStartMs` (kept until
   * `windowEndMs`), each only while under `limit`: false, counting nothing more, once a key is at its limit.
   */
  take(keys: readonly string[], limit: number, window: { startMs: number; endMs: number }): Promise<boolean>;
}
