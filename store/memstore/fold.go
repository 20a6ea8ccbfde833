package memstore

// foldName returns the key an account or session owner is kept under: the
// name with ASCII letters in lower case. Names compare case-insensitively in
// ASCII, as store.User documents and SQLite's NOCASE does; other bytes are
// kept as they are. A name that is already folded is returned without
// copying.
func foldName(name string) string {
	i := 0
	for i < len(name) && !('A' <= name[i] && name[i] <= 'Z') {
		i++
	}
	if i == len(name) {
		return name
	}
	b := []byte(name)
	for ; i < len(b); i++ {
		if c := b[i]; 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}
