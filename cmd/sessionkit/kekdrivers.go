package main

// The key services the sessionkit command can keep its key-encryption key
// in, beyond the file: and base64key:// URLs package kek always opens.
// Each driver registers its URL scheme with gocloud.dev/secrets when the
// program starts; package kek itself imports none of them, so that
// programs that embed sessionkit do not link the cloud SDKs they do not
// use.
import (
	_ "gocloud.dev/secrets/awskms"        // awskms://KEY-ID-OR-ALIAS?region=...
	_ "gocloud.dev/secrets/azurekeyvault" // azurekeyvault://VAULT.vault.azure.net/keys/KEY
	_ "gocloud.dev/secrets/gcpkms"        // gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K
	_ "gocloud.dev/secrets/hashivault"    // hashivault://KEY (VAULT_SERVER_URL, VAULT_SERVER_TOKEN)
)
