package imaplib2

import (
	"bufio"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The SASL mechanisms: the RFCs' examples byte for byte, the errors, one
// exchange per Authenticator, and transcripts through a socket (the
// Dovecot suite runs PLAIN and SCRAM against a real server).

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
		"PLAIN":        SASLPlain("", "al\x00ice", "secret"),
		"EXTERNAL":     SASLExternal("a\x00b"),
		"XOAUTH2":      SASLXOAuth2("alice", "to\x01ken"),
		"OAUTHBEARER":  SASLOAuthBearer("alice", "host", 143, "to\x01ken"),
		"OAUTHBEARER ": SASLOAuthBearer("al\x01ice", "host", 143, "token"),
	} {
		_, err := auth(nil)
		assert.ErrorContains(t, err, strings.TrimSpace(name)+": ", "a separator in a field")
		_, err = auth([]byte("{}"))
		assert.Error(t, err, "%s: nor an error answer", name)
	}
}

// saslTranscripts run the mechanisms against transcripts through a socket.
var saslTranscripts = []struct {
	file string
	run  func(t *testing.T, m *IMAP4)
}{
	{"sasl_plain_ir.txt", func(t *testing.T, m *IMAP4) {
		err := waitFails(t, m.Authenticate("EXTERNAL", SASLExternal("")))
		assert.Contains(t, err.Error(), "No client certificate")
		wrong := SASLPlain("", "alice", "wrong")
		waitFails(t, m.Authenticate("PLAIN", wrong))
		c := m.Authenticate("PLAIN", wrong)
		err = waitFails(t, c)
		assert.Contains(t, err.Error(), "has served its exchange", "a second exchange fails before it is sent")
		assert.Equal(t, NONAUTH, m.State())
		waitOK(t, m.Authenticate("PLAIN", SASLPlain("", "alice", "secret")))
		assert.Equal(t, AUTH, m.State())
	}},
	{"sasl_plain.txt", func(t *testing.T, m *IMAP4) {
		waitOK(t, m.Authenticate("PLAIN", SASLPlain("", "alice", "secret")))
		assert.Equal(t, AUTH, m.State())
	}},
	{"sasl_scram.txt", func(t *testing.T, m *IMAP4) {
		x := rfc7677Example
		err := waitFails(t, m.Authenticate("SCRAM-SHA-256", x.authenticator("pencil")))
		assert.Contains(t, err.Error(), "BAD AUTHENTICATE cancelled")
		assert.Contains(t, err.Error(), "SCRAM-SHA-256: server signature does not match")
		err = waitFails(t, m.Authenticate("SCRAM-SHA-256", x.authenticator("pencil")))
		assert.Contains(t, err.Error(), "SCRAM-SHA-256: the server reports an error: invalid-proof")
		assert.Equal(t, NONAUTH, m.State())
		res := waitOK(t, m.Authenticate("SCRAM-SHA-256", x.authenticator("pencil")))
		assert.Equal(t, "[CAPABILITY IMAP4rev1 IDLE] Logged in", res.Data[0].Text)
		assert.Equal(t, AUTH, m.State())
	}},
	{"sasl_scram_unproven.txt", func(t *testing.T, m *IMAP4) {
		_, err := waitResult(t, m.Authenticate("SCRAM-SHA-256", rfc7677Example.authenticator("pencil")))
		require.ErrorIs(t, err, ErrError)
		assert.Contains(t, err.Error(), "without proving it knows the password")
		_, err = waitResult(t, m.Noop())
		assert.ErrorIs(t, err, ErrAbort, "the connection to an unproven server is dropped")
	}},
	{"sasl_scram_cancelled_ok.txt", func(t *testing.T, m *IMAP4) {
		_, err := waitResult(t, m.Authenticate("SCRAM-SHA-256", rfc7677Example.authenticator("pencil")))
		require.ErrorIs(t, err, ErrError)
		assert.Contains(t, err.Error(), "after the client cancelled it")
		assert.Contains(t, err.Error(), "server signature does not match")
		assert.NotEqual(t, AUTH, m.State())
		_, err = waitResult(t, m.Noop())
		assert.ErrorIs(t, err, ErrAbort, "the connection to an impostor is dropped")
	}},
	{"sasl_xoauth2.txt", func(t *testing.T, m *IMAP4) {
		err := waitFails(t, m.Authenticate("XOAUTH2", SASLXOAuth2("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg")))
		assert.Contains(t, err.Error(), "Invalid credentials (Failure)")
		assert.Contains(t, err.Error(), `"status":"401"`, "the server's error JSON")
		assert.Equal(t, NONAUTH, m.State())
	}},
	{"sasl_oauthbearer.txt", func(t *testing.T, m *IMAP4) {
		err := waitFails(t, m.Authenticate("OAUTHBEARER", SASLOAuthBearer("user@example.com", "server.example.com", 143, "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==")))
		assert.Contains(t, err.Error(), "SASL authentication failed")
		assert.Contains(t, err.Error(), `"status":"invalid_token"`, "the server's error JSON")
		assert.Equal(t, NONAUTH, m.State())
	}},
}

func TestSASLTranscripts(t *testing.T) {
	for _, tt := range saslTranscripts {
		t.Run(tt.file, func(t *testing.T) {
			tt.run(t, session(t, tt.file, nil))
		})
	}
}

// TestSASLNeverLogged runs the transcripts again with every line in the
// debug output: no response, challenge, password or token may show there,
// base64 or decoded.
func TestSASLNeverLogged(t *testing.T) {
	for _, tt := range saslTranscripts {
		t.Run(tt.file, func(t *testing.T) {
			var log syncBuffer
			m := session(t, tt.file, &Options{Debug: 4, DebugWriter: &log})
			tt.run(t, m)
			m.Shutdown()
			out := log.String()
			require.Contains(t, out, "AUTHENTICATE", "the debug output has the exchange")
			for _, secret := range saslSecrets(t, tt.file) {
				assert.NotContains(t, out, secret)
			}
		})
	}
}

// saslSecrets returns what must not appear in the debug output of a SASL
// transcript: the passwords and tokens the tests use, and every response
// and challenge, base64 and decoded (each line of a decoded one).
func saslSecrets(t *testing.T, file string) []string {
	secrets := []string{"secret", "wrong", "pencil", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg", "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg=="}
	f, err := os.Open(filepath.Join("testdata", file))
	require.NoError(t, err)
	defer f.Close()
	sasl := regexp.MustCompile(`^(?:S: \+ |C: (?:\$\w+ AUTHENTICATE \S+ )?)([A-Za-z0-9+/]{4,}=*)$`)
	for sc := bufio.NewScanner(f); sc.Scan(); {
		m := sasl.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		secrets = append(secrets, m[1])
		decoded, err := base64.StdEncoding.DecodeString(m[1])
		require.NoError(t, err, m[1])
		secrets = append(secrets, strings.FieldsFunc(string(decoded), func(r rune) bool { return r < ' ' })...)
	}
	require.Greater(t, len(secrets), 6, "the transcript has responses and challenges")
	return secrets
}
