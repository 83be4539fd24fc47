/**
 * Which Kommo account (Kommo's numeric id, as widget tokens carry it) is connected to which scope
 * (`connect` returns it for the account's amojo id). Written by `/admin/connect`, read by every
 * widget request.
 */
export interface AccountBinding {
  kommoAccountId: number;
  /** The account's amojo id, the scope's account part. */
  amojoAccountId: string;
  scopeId: string;
  /** The channel title given to Kommo's `connect`. */
  title: string;
  boundAtMs: number;
}

/**
 * The accounts a connect or disconnect changes. A disconnect by amojo id of an account that has no
 * binding (one connected with the operator command) knows no Kommo account id.
 */
export interface AccountKeys {
  amojoAccountId: string;
  kommoAccountId?: number;
}

/** One connect or disconnect in progress: its id, and the bridge's clock when it claimed the accounts. */
export interface AccountChangeClaim {
  claimId: string;
  nowMs: number;
}

/** Why the accounts could not be claimed. */
export type AccountClaimRefusal =
  /** The Kommo account is bound to this other amojo account. */
  | { reason: 'kommo_account_bound_elsewhere'; boundAmojoAccountId: string }
  /** The amojo account is bound to this other Kommo account. */
  | { reason: 'amojo_account_bound_elsewhere'; boundKommoAccountId: number }
  /** Another connect or disconnect holds one of the accounts, or changed its binding since it was read. */
  | { reason: 'change_in_progress' };

/**
 * Bindings change only under a claim: a connect or disconnect first claims both accounts (one
 * conditional write, which also checks their bindings), then calls Kommo, then turns the claim into
 * the change. So two changes of the same account never both reach Kommo, and a claim that its holder
 * abandoned (a crash) lapses on its own.
 */
export interface AccountBindingStore {
  byKommoAccount(kommoAccountId: number): Promise<AccountBinding | undefined>;
  byAmojoAccount(amojoAccountId: string): Promise<AccountBinding | undefined>;
  /**
   * Claims both accounts for a connect when each is unbound or bound to the other (a reconnect) and
   * no live claim holds either.
   */
  claimToConnect(accounts: Required<AccountKeys>, claim: AccountChangeClaim): Promise<AccountClaimRefusal | undefined>;
  /**
   * Claims the accounts for a disconnect: those of `binding` while it is still bound as read, or, with
   * no binding, the amojo account alone while it is still unbound.
   */
  claimToDisconnect(
    target: AccountBinding | { amojoAccountId: string },
    claim: AccountChangeClaim,
  ): Promise<AccountClaimRefusal | undefined>;
  /** Writes the binding (a reconnect replaces it) and ends the claim; false when the claim was no longer held. */
  bindClaimed(binding: AccountBinding, claimId: string): Promise<boolean>;
  /** Removes the binding (when there is one) and ends the claim; false when the claim was no longer held. */
  unbindClaimed(accounts: AccountKeys, claimId: string): Promise<boolean>;
  /** Ends the claim without a change (Kommo refused); a claim held by another change is left alone. */
  releaseClaim(accounts: AccountKeys, claimId: string): Promise<void>;
}
