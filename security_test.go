package imaplib2

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestSecretsNeverLogged: at the most verbose debug level, LOGIN passwords
// (quoted or literal) and AUTHENTICATE exchanges (base64 either way) never
// appear in the debug output in any form.
func TestSecretsNeverLogged(t *testing.T) {
	const quotedPassword, literalPassword, token = `s3cr"et`, "pässwörd\r\nx", "\x00alice\x00hunter2"
	var log bytes.Buffer
	m := connect(t, newScriptServer(t, "secrets", `
S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready
C: $1 LOGIN alice "s3cr\"et"
S: $1 NO [AUTHENTICATIONFAILED] wrong
C: $2 LOGIN {5}
S: + go
C~ al\r\nx
C:  {13}
S: + go
C~ p\xc3\xa4ssw\xc3\xb6rd\r\nx
C: 
S: $2 NO [AUTHENTICATIONFAILED] wrong
C: $3 AUTHENTICATE PLAIN
S: + c2VydmVyIHNlY3JldA==
C: AGFsaWNlAGh1bnRlcjI=
S: $3 OK [CAPABILITY IMAP4rev1] done
`), &Options{Debug: 5, DebugWriter: &log})
	m.Login("alice", quotedPassword).Wait()
	m.Login("al\r\nx", literalPassword).Wait()
	wait(t, m.Authenticate("PLAIN", func([]byte) ([]byte, error) { return []byte(token), nil }))
	out := log.String()
	for _, secret := range []string{"s3cr", `s3cr\"et`, "pässwörd", "p\xc3\xa4ss", base64.StdEncoding.EncodeToString([]byte(token)), "hunter2", "c2VydmVyIHNlY3JldA==", "server secret"} {
		assert.NotContains(t, out, secret)
	}
	assert.Contains(t, out, "<redacted>")
	assert.Contains(t, out, "LOGIN alice <redacted>")
}
