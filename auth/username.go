package auth

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// Limits on usernames and passwords.
const (
	MinUsernameLength = 3    // characters
	MaxUsernameLength = 64   // characters
	MinPasswordLength = 8    // bytes
	MaxPasswordLength = 1024 // bytes
)

var (
	// ErrInvalidUsername reports a username that breaks the rules of
	// [ValidateUsername]. Its message can be shown to a user as is.
	ErrInvalidUsername = errors.New("usernames are 3 to 64 characters long and use only letters a-z and A-Z, digits, '.', '_' and '-'")

	// ErrInvalidPassword reports a password that breaks the rules of
	// [ValidatePassword]. Its message can be shown to a user as is.
	ErrInvalidPassword = errors.New("passwords are 8 to 1024 bytes long")
)

// ValidateUsername reports whether name is an acceptable username: 3 to 64
// characters, each an ASCII letter, digit, '.', '_' or '-'. Otherwise it
// returns an error that wraps [ErrInvalidUsername] and says what is wrong, in
// a sentence fit for a form; it may quote the first character that is not
// allowed, never the whole name.
func ValidateUsername(name string) error {
	for i := 0; i < len(name); i++ {
		if !usernameByte(name[i]) {
			r, _ := utf8.DecodeRuneInString(name[i:])
			return fmt.Errorf("%w; this one contains %s", ErrInvalidUsername, describeRune(r))
		}
	}
	// Every byte is ASCII now, so the length in bytes is the length in
	// characters.
	if n := len(name); n < MinUsernameLength || n > MaxUsernameLength {
		return fmt.Errorf("%w; this one has %s", ErrInvalidUsername, count(n, "character"))
	}
	return nil
}

// usernameByte reports whether c may appear in a username.
func usernameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == '-'
}

// describeRune names r for an error message; control and invisible
// characters are named or escaped, never echoed.
func describeRune(r rune) string {
	switch {
	case r == ' ':
		return "a space"
	case r == utf8.RuneError:
		return "an invalid UTF-8 byte"
	case r < ' ' || r == 0x7f:
		return "a control character"
	case r > 0x7f:
		return fmt.Sprintf("%q, which is not ASCII", r)
	default:
		return fmt.Sprintf("%q", r)
	}
}

// ValidatePassword reports whether pw is an acceptable password: 8 to 1024
// bytes (not characters: "é" counts as two). Any bytes are allowed. Otherwise
// it returns an error that wraps [ErrInvalidPassword], in a sentence fit for a
// form. The error never repeats the password.
func ValidatePassword(pw string) error {
	if n := len(pw); n < MinPasswordLength || n > MaxPasswordLength {
		return fmt.Errorf("%w; this one has %s", ErrInvalidPassword, count(n, "byte"))
	}
	return nil
}

// count formats n things, in the plural unless n is 1.
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
