-- Issue 11, cost per answer: an account's balance read from the index alone.
--
-- Every reward checks its batch's escrow against the floor: SUM(amount) over the escrow's
-- entries, which grows with the batch's answers. With entries_account (account, transfer_id)
-- each entry was a lookup into the table (a quarter of the bot's CPU per answer late in a
-- crowd bench); with the amount in the index the sum reads one range of it and nothing else.
-- Still one index entry per past leg of the account, but no table row.
CREATE INDEX entries_account_amount ON entries (account, amount);
