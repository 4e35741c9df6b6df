-- UpdateAccount sets an account's description (ZStack's AccountVO.description).
ALTER TABLE account ADD COLUMN description TEXT;
