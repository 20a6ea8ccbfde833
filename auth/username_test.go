package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateUsername(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"", false},
		{"ab", false},                         // 2: too short
		{"abc", true},                         // 3: shortest
		{strings.Repeat("a", 64), true},       // longest
		{strings.Repeat("a", 65), false},      // too long
		{strings.Repeat("a", 100_000), false}, // far too long
		{"Alice_1.x-Y", true},
		{"...", true},
		{"-_-", true},
		{"ab c", false},         // space
		{" abc", false},         // leading space
		{"abc\n", false},        // control character
		{"ab\x00c", false},      // NUL
		{"élan", false},         // non-ASCII letter
		{"ééé", false},          // 3 characters, none allowed
		{"ａｂｃ", false},          // fullwidth letters
		{"abc\u200b", false},    // zero-width space
		{"\xff\xfe\xfd", false}, // invalid UTF-8
		{"a/b", false},
		{"a@b.c", false},
		{"a+b", false},
	}
	for _, tt := range tests {
		err := ValidateUsername(tt.name)
		if tt.ok {
			if err != nil {
				t.Errorf("ValidateUsername(%.20q) = %v, want nil", tt.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidUsername) {
			t.Errorf("ValidateUsername(%.20q) = %v, want ErrInvalidUsername", tt.name, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), ErrInvalidUsername.Error()) {
			t.Errorf("ValidateUsername(%.20q) message %q does not start with the rule", tt.name, err)
		}
		if len(tt.name) > 2 && strings.Contains(err.Error(), tt.name) {
			t.Errorf("ValidateUsername(%.20q) message %q repeats the name", tt.name, err)
		}
	}
}

func TestValidatePassword(t *testing.T) {
	tests := []struct {
		desc string
		pw   string
		ok   bool
	}{
		{"empty", "", false},
		{"7 bytes", "1234567", false},
		{"8 bytes", "12345678", true},
		{"1024 bytes", strings.Repeat("x", 1024), true},
		{"1025 bytes", strings.Repeat("x", 1025), false},
		{"3 chars, 6 bytes", "ééé", false},
		{"4 chars, 8 bytes", "éééé", true},
		{"3 chars, 9 bytes", "€€€", true},
		{"1023 bytes + 2-byte char", strings.Repeat("x", 1023) + "é", false},
		{"512 two-byte chars", strings.Repeat("é", 512), true},
		{"spaces", "        ", true},
		{"any bytes", "\x00\xff\n\t abc", true},
	}
	for _, tt := range tests {
		err := ValidatePassword(tt.pw)
		if tt.ok {
			if err != nil {
				t.Errorf("%s: ValidatePassword = %v, want nil", tt.desc, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidPassword) {
			t.Errorf("%s: ValidatePassword = %v, want ErrInvalidPassword", tt.desc, err)
			continue
		}
		if tt.pw != "" && strings.Contains(err.Error(), tt.pw) {
			t.Errorf("%s: message %q repeats the password", tt.desc, err)
		}
	}
}
