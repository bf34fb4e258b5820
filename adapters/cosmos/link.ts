/** What `qiao cosmos connect` established between the chain and the hub (the `link` of the trust root). */
export interface CosmosLink {
  soloClientId: string;
  connectionId: string;
  counterpartyConnectionId: string;
  hubPort: string;
  hubChannel: string;
}
