package imaplib2

import (
	"encoding/base64"
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// mailboxBase64 is the base64 of modified UTF-7 (RFC 3501 §5.1.3): "," in
// place of "/", no padding.
var mailboxBase64 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").WithPadding(base64.NoPadding)

// EncodeMailboxName encodes a mailbox name in modified UTF-7, the form
// IMAP4rev1 servers expect: "Entwürfe" becomes "Entw&APw-rfe". ASCII names
// are unchanged but for "&", which becomes "&-". The command methods encode
// mailbox arguments that hold non-ASCII characters this way (unless
// ENABLE UTF8=ACCEPT is in force) and send ASCII ones as they are.
func EncodeMailboxName(name string) string {
	if isPlainMailboxName(name) {
		return name
	}
	var b strings.Builder
	var run []rune // characters to encode in base64
	flush := func() {
		if len(run) > 0 {
			units := utf16.Encode(run)
			raw := make([]byte, 2*len(units))
			for i, u := range units {
				raw[2*i], raw[2*i+1] = byte(u>>8), byte(u)
			}
			b.WriteByte('&')
			b.WriteString(mailboxBase64.EncodeToString(raw))
			b.WriteByte('-')
			run = run[:0]
		}
	}
	for _, r := range name {
		switch {
		case r == '&':
			flush()
			b.WriteString("&-")
		case r >= 0x20 && r <= 0x7e:
			flush()
			b.WriteRune(r)
		default:
			run = append(run, r)
		}
	}
	flush()
	return b.String()
}

// isPlainMailboxName reports whether name encodes to itself.
func isPlainMailboxName(name string) bool {
	return isPrintableASCII(name) && !strings.Contains(name, "&")
}

// isModifiedUTF7 reports whether name is already in modified UTF-7, so
// that it goes to the server as it is.
func isModifiedUTF7(name string) bool {
	if !isPrintableASCII(name) {
		return false
	}
	_, err := DecodeMailboxName(name)
	return err == nil
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// errBadMailboxName reports a name that is not valid modified UTF-7.
var errBadMailboxName = errors.New("imaplib2: mailbox name is not valid modified UTF-7")

// DecodeMailboxName decodes a modified UTF-7 mailbox name, as LIST returns
// it, to UTF-8: "Entw&APw-rfe" becomes "Entwürfe".
func DecodeMailboxName(name string) (string, error) {
	if !strings.Contains(name, "&") {
		return name, nil
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(name, '&')
		if i < 0 {
			b.WriteString(name)
			return b.String(), nil
		}
		b.WriteString(name[:i])
		j := strings.IndexByte(name[i:], '-')
		if j < 0 {
			return "", errBadMailboxName
		}
		encoded := name[i+1 : i+j]
		name = name[i+j+1:]
		if encoded == "" {
			b.WriteByte('&')
			continue
		}
		raw, err := mailboxBase64.DecodeString(encoded)
		if err != nil || len(raw)%2 != 0 {
			return "", errBadMailboxName
		}
		units := make([]uint16, len(raw)/2)
		for k := range units {
			units[k] = uint16(raw[2*k])<<8 | uint16(raw[2*k+1])
		}
		for _, r := range utf16.Decode(units) {
			if r == utf8.RuneError {
				return "", errBadMailboxName
			}
			b.WriteRune(r)
		}
	}
}
