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

export interface AccountBindingStore {
  byKommoAccount(kommoAccountId: number): Promise<AccountBinding | undefined>;
  byAmojoAccount(amojoAccountId: string): Promise<AccountBinding | undefined>;
  /**
   * Binds the Kommo account and the amojo account to each other, in one conditional write: false
   * when either is bound to another account. Binding the same pair again replaces it (a reconnect).
   */
  bind(binding: AccountBinding): Promise<boolean>;
  /** Removes both sides of this binding; false when it had already gone or changed. */
  unbind(binding: AccountBinding): Promise<boolean>;
}
