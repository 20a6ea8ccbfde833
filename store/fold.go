package store

// FoldName returns the form in which account names and session owners are
// compared and keyed: the name with ASCII letters in lower case. Other
// bytes are kept as they are, so the folded name has the same length.
// Every backend folds with it, rather than with a database's own lower(),
// whose result can depend on a locale. A name that is already folded is
// returned without copying.
func FoldName(name string) string {
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
