"""AWS STS (GetCallerIdentity, AssumeRole, GetSessionToken) over the Query protocol."""
