package imaplib2

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The SASL mechanisms: the RFCs' examples byte for byte, the errors, one
// exchange per Authenticator.

// scramExample is an RFC's SCRAM example: user "user", password "pencil".
type scramExample struct {
	hash, nonce                                        string
	clientFirst, serverFirst, clientFinal, serverFinal string
}

var (
	// rfc5802Example is RFC 5802 §5's SCRAM-SHA-1 exchange.
	rfc5802Example = scramExample{
		hash:        "SHA-1",
		nonce:       "fyko+d2lbbFgONRv9qkxdawL",
		clientFirst: "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
		serverFirst: "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
		clientFinal: "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
		serverFinal: "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
	}
	// rfc7677Example is RFC 7677 §3's SCRAM-SHA-256 exchange.
	rfc7677Example = scramExample{
		hash:        "SHA-256",
		nonce:       "rOprNGfwEbeRWgbNEkqO",
		clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
		serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
		clientFinal: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
	}
)

// authenticator returns the example's Authenticator, with its nonce.
func (x scramExample) authenticator(password string) Authenticator {
	return newScram(x.hash, "user", password, func() string { return x.nonce })
}

// step calls auth and requires success.
func step(t *testing.T, auth Authenticator, challenge string) string {
	t.Helper()
	var c []byte
	if challenge != "" {
		c = []byte(challenge)
	}
	response, err := auth(c)
	require.NoError(t, err)
	require.NotNil(t, response, "a response, empty or not, is never nil")
	return string(response)
}

func TestSASLScramExamples(t *testing.T) {
	for _, x := range []scramExample{rfc5802Example, rfc7677Example} {
		t.Run(x.hash, func(t *testing.T) {
			auth := x.authenticator("pencil")
			assert.Equal(t, x.clientFirst, step(t, auth, ""))
			assert.Equal(t, x.clientFinal, step(t, auth, x.serverFirst))
			assert.Equal(t, "", step(t, auth, x.serverFinal), "the verified server-final-message is answered with an empty response")

			_, err := auth(nil)
			assert.ErrorContains(t, err, "has served its exchange", "a second exchange")

			// The hash's name is not case-sensitive.
			x.hash = strings.ToLower(x.hash)
			auth = x.authenticator("pencil")
			step(t, auth, "")
			assert.Equal(t, x.clientFinal, step(t, auth, x.serverFirst))
		})
	}
}

func TestSASLScramUsername(t *testing.T) {
	auth := newScram("SHA-256", "a,b=c", "pencil", func() string { return "nonce" })
	assert.Equal(t, "n,,n=a=2Cb=3Dc,r=nonce", step(t, auth, ""), "',' and '=' escaped (RFC 5802 §5.1)")
}

// TestSASLScramSASLprep: the password is prepared before it is hashed:
// a non-ASCII space is a space.
func TestSASLScramSASLprep(t *testing.T) {
	x := rfc7677Example
	nbsp, space := x.authenticator("pen\u00a0cil"), x.authenticator("pen cil")
	step(t, nbsp, "")
	step(t, space, "")
	assert.Equal(t, step(t, space, x.serverFirst), step(t, nbsp, x.serverFirst))
}

// TestSASLScramFailures: what the server sends that the client refuses;
// each error fails the exchange, and the Authenticator with it.
func TestSASLScramFailures(t *testing.T) {
	x := rfc7677Example
	for _, tt := range []struct {
		server []string // the server's messages; the last is refused
		want   string
	}{
		{[]string{"r=someoneelse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"}, "nonce does not extend the client's"},
		{[]string{"r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"}, "nonce does not extend the client's"},
		{[]string{"s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"}, "nonce does not extend the client's"},
		{[]string{"r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0"}, "iteration count"},
		{[]string{"r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1000001"}, "iteration count"},
		{[]string{"r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-1"}, "iteration count"},
		{[]string{"r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4k"}, "iteration count"},
		{[]string{"r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ=="}, "iteration count"},
		{[]string{"r=rOprNGfwEbeRWgbNEkqOxyz,i=4096"}, "salt"},
		{[]string{"r=rOprNGfwEbeRWgbNEkqOxyz,s=not base64!,i=4096"}, "salt"},
		{[]string{"r=rOprNGfwEbeRWgbNEkqOxyz,s=,i=4096"}, "salt"},
		{[]string{"m=ext,r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"}, "requires an extension"},
		{[]string{"r=rOprNGfwEbeRWgbNEkqOxyz,r=rOprNGfwEbeRWgbNEkqOabc,i=4096,s=AAAA"}, "malformed server-first-message: attribute r= repeated"},
		{[]string{"r=rOprNGfwEbeRWgbNEkqOxyz,,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"}, "malformed server-first-message"},
		{[]string{"hello"}, "malformed server-first-message"},
		{[]string{""}, "malformed server-first-message"},
		{[]string{"e=other-error"}, "the server reports an error: other-error"},
		{[]string{x.serverFirst, "v=rmF9pqV8S7suAoZWja4dJRkFsKQ="}, "server signature does not match"},
		{[]string{x.serverFirst, "v=" + base64.StdEncoding.EncodeToString(make([]byte, 32))}, "server signature does not match"},
		{[]string{x.serverFirst, "v=not base64"}, "server signature does not match"},
		{[]string{x.serverFirst, "e=invalid-proof"}, "the server reports an error: invalid-proof"},
		{[]string{x.serverFirst, "e=unknown-user,v=abc"}, "the server reports an error: unknown-user"},
		{[]string{x.serverFirst, "x=1"}, "no server signature"},
		{[]string{x.serverFirst, ""}, "malformed server-final-message"},
	} {
		auth := x.authenticator("pencil")
		step(t, auth, "")
		last := len(tt.server) - 1
		for _, message := range tt.server[:last] {
			step(t, auth, message)
		}
		_, err := auth([]byte(tt.server[last]))
		assert.ErrorContains(t, err, tt.want, "server message %q", tt.server[last])
		assert.ErrorContains(t, err, "SCRAM-SHA-256: ")
		assert.NotContains(t, err.Error(), "rOprNGfwEbeRWgbNEkqO", "errors do not repeat challenges")
		_, err = auth([]byte(x.serverFinal))
		assert.Error(t, err, "a failed exchange is over: even the right signature comes too late")
		_, err = auth(nil)
		assert.ErrorContains(t, err, "has served its exchange")
	}

	auth := x.authenticator("wrong")
	step(t, auth, "")
	assert.NotEqual(t, x.clientFinal, step(t, auth, x.serverFirst), "another password, another proof")
	_, err := auth([]byte(x.serverFinal))
	assert.ErrorContains(t, err, "server signature does not match", "a server that does not know the password")

	auth = x.authenticator("pencil")
	step(t, auth, "")
	step(t, auth, x.serverFirst)
	step(t, auth, x.serverFinal)
	_, err = auth([]byte("v=again"))
	assert.ErrorContains(t, err, "unexpected challenge")

	_, err = SASLScram("MD5", "user", "pencil")(nil)
	assert.ErrorContains(t, err, "SCRAM-MD5: unsupported hash")
	_, err = SASLScram("SHA-256", "user", "pen\x07cil")(nil)
	assert.ErrorContains(t, err, "SASLprep", "a control character is not allowed in a password")
	_, err = SASLScram("SHA-256", "user", "")(nil)
	assert.ErrorContains(t, err, "SASLprep", "nor is an empty password")
}

// TestSASLScramNonce: the real nonce source gives a fresh, printable
// nonce without a ',' each time.
func TestSASLScramNonce(t *testing.T) {
	re := regexp.MustCompile(`^n,,n=user,r=([!-+\--~]{20,})$`)
	first := re.FindStringSubmatch(step(t, SASLScram("SHA-256", "user", "pencil"), ""))
	second := re.FindStringSubmatch(step(t, SASLScram("SHA-256", "user", "pencil"), ""))
	require.NotNil(t, first)
	require.NotNil(t, second)
	assert.NotEqual(t, first[1], second[1])
}

// TestSASLOneMessage: the mechanisms with one client message, byte for
// byte, their answers to an error challenge, and their refusal of a
// second exchange.
func TestSASLOneMessage(t *testing.T) {
	for _, tt := range []struct {
		name        string
		auth        func() Authenticator
		initial     string
		errorAnswer string // "-": none, another challenge is refused
	}{
		{"PLAIN", func() Authenticator { return SASLPlain("", "alice", "secret") }, "\x00alice\x00secret", "-"},
		{"PLAIN identity", func() Authenticator { return SASLPlain("admin", "alice", "secret") }, "admin\x00alice\x00secret", "-"},
		{"EXTERNAL", func() Authenticator { return SASLExternal("") }, "", "-"},
		{"EXTERNAL identity", func() Authenticator { return SASLExternal("alice@example.org") }, "alice@example.org", "-"},
		// Google's documented example.
		{"XOAUTH2", func() Authenticator {
			return SASLXOAuth2("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg")
		}, "user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01", ""},
		// RFC 7628 §4.1.
		{"OAUTHBEARER", func() Authenticator {
			return SASLOAuthBearer("user@example.com", "server.example.com", 143, "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==")
		}, "n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01", "\x01"},
		{"OAUTHBEARER escaped", func() Authenticator { return SASLOAuthBearer("a,b=c", "", 0, "t") }, "n,a=a=2Cb=3Dc,\x01auth=Bearer t\x01\x01", "\x01"},
		{"OAUTHBEARER no user", func() Authenticator { return SASLOAuthBearer("", "h", 993, "t") }, "n,,\x01host=h\x01port=993\x01auth=Bearer t\x01\x01", "\x01"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			auth := tt.auth()
			assert.Equal(t, tt.initial, step(t, auth, ""))
			_, err := auth(nil)
			assert.ErrorContains(t, err, "has served its exchange", "a second exchange")

			auth = tt.auth()
			step(t, auth, "")
			errorJSON := []byte(`{"status":"invalid_token"}`)
			if tt.errorAnswer == "-" {
				_, err = auth(errorJSON)
				assert.ErrorContains(t, err, "unexpected challenge")
			} else {
				assert.Equal(t, tt.errorAnswer, step(t, auth, string(errorJSON)), "the answer to the server's error")
				_, err = auth(errorJSON)
				assert.ErrorContains(t, err, "unexpected challenge", "one error challenge only")
			}
			_, err = auth(nil)
			assert.ErrorContains(t, err, "has served its exchange", "a second exchange")
		})
	}

	for name, auth := range map[string]Authenticator{
		"PLAIN":       SASLPlain("", "al\x00ice", "secret"),
		"EXTERNAL":    SASLExternal("a\x00b"),
		"XOAUTH2":     SASLXOAuth2("alice", "to\x01ken"),
		"OAUTHBEARER": SASLOAuthBearer("alice", "host", 143, "to\x01ken"),
	} {
		_, err := auth(nil)
		assert.ErrorContains(t, err, name+": ", "a separator in a field")
		_, err = auth([]byte("{}"))
		assert.Error(t, err, "%s: nor an error answer", name)
	}
}
