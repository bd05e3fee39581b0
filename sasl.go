package imaplib2

// The SASL mechanisms: Authenticators for Authenticate. Each keeps the
// state of the one exchange it serves and fails any call beyond it. None
// of them logs anything; their errors never hold a secret.

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/text/secure/precis"
)

// SASLPlain returns an Authenticator for PLAIN (RFC 4616), whose one
// message is identity NUL username NUL password. The identity is the
// authorization identity, the user to act as; leave it empty to act as
// username itself. None of the three may hold a NUL. Send PLAIN only over
// TLS. The Authenticator serves one exchange: make a new one for each
// Authenticate.
func SASLPlain(identity, username, password string) Authenticator {
	var invalid error
	if strings.ContainsRune(identity+username+password, 0) {
		invalid = errors.New("PLAIN: the identity, username and password may not hold a NUL")
	}
	return oneMessage("PLAIN", []byte(identity+"\x00"+username+"\x00"+password), nil, invalid)
}

// SASLExternal returns an Authenticator for EXTERNAL (RFC 4422, appendix
// A), which authenticates with what the server knows from outside SASL,
// typically a TLS client certificate. Its one message is identity, the
// authorization identity: empty (allowed) to act as the identity the
// certificate proves. The Authenticator serves one exchange: make a new
// one for each Authenticate.
func SASLExternal(identity string) Authenticator {
	var invalid error
	if strings.ContainsRune(identity, 0) {
		invalid = errors.New("EXTERNAL: the identity may not hold a NUL")
	}
	return oneMessage("EXTERNAL", []byte(identity), nil, invalid)
}

// SASLXOAuth2 returns an Authenticator for XOAUTH2, Google's and
// Microsoft's OAuth 2.0 mechanism (Gmail, Outlook), which predates
// OAUTHBEARER (RFC 7628). username is the mailbox's address, accessToken
// an OAuth 2.0 bearer token; its message is "user=" username ^A
// "auth=Bearer " accessToken ^A ^A. When the server refuses the token it
// sends its error, a JSON object, as a challenge; the Authenticator answers
// it with an empty response, as Google documents, the server then sends
// its tagged NO, and the command's ErrError holds the JSON. The
// Authenticator serves one exchange: make a new one for each Authenticate.
func SASLXOAuth2(username, accessToken string) Authenticator {
	var invalid error
	if strings.ContainsRune(username+accessToken, 1) {
		invalid = errors.New("XOAUTH2: the username and token may not hold a ^A")
	}
	return oneMessage("XOAUTH2", []byte("user="+username+"\x01auth=Bearer "+accessToken+"\x01\x01"), []byte{}, invalid)
}

// SASLOAuthBearer returns an Authenticator for OAUTHBEARER (RFC 7628),
// which authenticates with an OAuth 2.0 bearer token, accessToken.
// username is the authorization identity (RFC 7628 §3.1, "a=" in the GS2
// header, with ',' and '=' escaped as RFC 5801 says): the user whose
// mailbox to open, usually the one the token was issued for; leave it
// empty to let the server take the user from the token. host and port
// name the server the client connected to (an empty host and a port of 0
// are left out). When the server refuses the token it sends its error, a
// JSON object, as a challenge; the Authenticator answers it with the ^A
// that RFC 7628 §3.2.3 asks for, the server then sends its tagged NO, and
// the command's ErrError holds the JSON. The Authenticator serves one
// exchange: make a new one for each Authenticate.
func SASLOAuthBearer(username, host string, port int, accessToken string) Authenticator {
	var invalid error
	if strings.ContainsRune(username+host+accessToken, 1) {
		invalid = errors.New("OAUTHBEARER: the username, host and token may not hold a ^A")
	}
	var b strings.Builder
	b.WriteString("n,")
	if username != "" {
		b.WriteString("a=" + gs2Escape(username))
	}
	b.WriteString(",\x01")
	if host != "" {
		b.WriteString("host=" + host + "\x01")
	}
	if port > 0 {
		b.WriteString("port=" + strconv.Itoa(port) + "\x01")
	}
	b.WriteString("auth=Bearer " + accessToken + "\x01\x01")
	return oneMessage("OAUTHBEARER", []byte(b.String()), []byte{1}, invalid)
}

// oneMessage returns the Authenticator of a mechanism whose client sends
// one message, initial (or invalid's error, if that is not nil).
// errorAnswer, if not nil, answers the one challenge that may follow: the
// server's error, after which it fails the command. Any other call fails,
// a new exchange (a call with a nil challenge) among them.
func oneMessage(mechanism string, initial, errorAnswer []byte, invalid error) Authenticator {
	var calls atomic.Int64
	return func(challenge []byte) ([]byte, error) {
		switch n := calls.Add(1); {
		case n == 1 && invalid != nil:
			return nil, invalid
		case n == 1:
			return initial, nil
		case challenge == nil:
			return nil, saslReused(mechanism)
		case n == 2 && errorAnswer != nil && invalid == nil:
			return errorAnswer, nil
		default:
			return nil, fmt.Errorf("%s: unexpected challenge", mechanism)
		}
	}
}

// saslReused is the error of an Authenticator asked to start a second
// exchange.
func saslReused(mechanism string) error {
	return fmt.Errorf("%s: this Authenticator has served its exchange; make a new one for each Authenticate", mechanism)
}

// gs2Escape escapes a name for a GS2 header or a SCRAM attribute (RFC
// 5801, RFC 5802 §5.1): ',' is "=2C" and '=' is "=3D".
func gs2Escape(name string) string {
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(name)
}

// SASLScram returns an Authenticator for SCRAM-SHA-1 (RFC 5802) when hash
// is "SHA-1", or SCRAM-SHA-256 (RFC 7677) when hash is "SHA-256", without
// channel binding: pass it to Authenticate with the mechanism
// "SCRAM-SHA-1" or "SCRAM-SHA-256". username is the user to authenticate
// as (there is no separate authorization identity); the password is
// prepared with SASLprep, for which precis.OpaqueString (RFC 8265) stands
// in. The server proves that it knows the password too: the Authenticator
// checks the server's signature and cancels the exchange, failing the
// command with an ErrError, when it does not match or the server reports
// an error. It also refuses a server nonce that does not extend its own
// and an iteration count outside 1 to 1,000,000. The Authenticator serves
// one exchange: make a new one for each Authenticate.
func SASLScram(hash, username, password string) Authenticator {
	return newScram(hash, username, password, rand.Text)
}

// scramMaxIterations bounds the iteration count a server may ask for, so
// that a hostile server cannot make the client spin.
const scramMaxIterations = 1_000_000

// newScram is SASLScram with the source of the client nonce, which must
// return printable ASCII without a ',' (tests give the RFCs' nonces).
func newScram(hashName, username, password string, nonce func() string) Authenticator {
	s := &scram{mechanism: "SCRAM-" + strings.ToUpper(hashName), username: username, password: password, nonce: nonce}
	switch strings.ToUpper(hashName) {
	case "SHA-1":
		s.hash = sha1.New
	case "SHA-256":
		s.hash = sha256.New
	}
	return s.next
}

// scram is the state of one SCRAM exchange (RFC 5802 §3, §5).
type scram struct {
	mechanism          string
	hash               func() hash.Hash
	username, password string
	nonce              func() string

	mu              sync.Mutex
	step            int    // the messages answered so far; scramDone once over
	clientNonce     string // r= of the client-first-message
	clientFirstBare string
	serverSignature []byte // what the server-final-message must prove
}

// scramDone is the step of an exchange that is over, or failed.
const scramDone = 3

// next answers the exchange's next message: nil (the start) with the
// client-first-message, the server-first-message with the
// client-final-message, and the server-final-message, once verified, with
// an empty response.
func (s *scram) next(challenge []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var (
		response []byte
		err      error
	)
	switch {
	case s.step > 0 && challenge == nil:
		err = saslReused(s.mechanism)
	case s.step == 0:
		response, err = s.clientFirst()
	case s.step == 1:
		response, err = s.clientFinal(string(challenge))
	case s.step == 2:
		response, err = s.verify(string(challenge))
	default:
		err = fmt.Errorf("%s: unexpected challenge after the server's signature", s.mechanism)
	}
	if err != nil {
		s.step = scramDone
		return nil, err
	}
	s.step++
	return response, nil
}

// clientFirst returns the client-first-message: no channel binding, no
// authorization identity, the escaped username and a fresh nonce. It
// prepares the password first, so that a password SASLprep refuses fails
// the exchange before it starts.
func (s *scram) clientFirst() ([]byte, error) {
	if s.hash == nil {
		return nil, fmt.Errorf("%s: unsupported hash (want SHA-1 or SHA-256)", s.mechanism)
	}
	prepared, err := precis.OpaqueString.String(s.password)
	if err != nil {
		return nil, fmt.Errorf("%s: the password cannot be prepared (SASLprep): %w", s.mechanism, err)
	}
	s.password = prepared
	s.clientNonce = s.nonce()
	s.clientFirstBare = "n=" + gs2Escape(s.username) + ",r=" + s.clientNonce
	return []byte("n,," + s.clientFirstBare), nil
}

// clientFinal checks the server-first-message and returns the
// client-final-message, with the client's proof; it keeps the signature
// that the server's last message must hold.
func (s *scram) clientFinal(serverFirst string) ([]byte, error) {
	attrs, err := s.attributes(serverFirst, "server-first-message")
	if err != nil {
		return nil, err
	}
	if _, ok := attrs['m']; ok {
		return nil, fmt.Errorf("%s: the server requires an extension this client does not know", s.mechanism)
	}
	nonce, ok := attrs['r']
	if !ok || len(nonce) <= len(s.clientNonce) || !strings.HasPrefix(nonce, s.clientNonce) {
		return nil, fmt.Errorf("%s: the server's nonce does not extend the client's", s.mechanism)
	}
	salt, err := base64.StdEncoding.DecodeString(attrs['s'])
	if err != nil || len(salt) == 0 {
		return nil, fmt.Errorf("%s: missing or malformed salt in the server-first-message", s.mechanism)
	}
	iterations, err := strconv.Atoi(attrs['i'])
	if err != nil || iterations < 1 || iterations > scramMaxIterations {
		return nil, fmt.Errorf("%s: missing or unacceptable iteration count in the server-first-message (want 1 to %d)", s.mechanism, scramMaxIterations)
	}
	salted, err := pbkdf2.Key(s.hash, s.password, salt, iterations, s.hash().Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.mechanism, err)
	}
	clientKey := s.hmac(salted, "Client Key")
	storedKey := s.hash()
	storedKey.Write(clientKey)
	withoutProof := "c=biws,r=" + nonce // biws: "n,,", the GS2 header, in base64
	authMessage := s.clientFirstBare + "," + serverFirst + "," + withoutProof
	proof := s.hmac(storedKey.Sum(nil), authMessage)
	for i := range proof {
		proof[i] ^= clientKey[i]
	}
	s.serverSignature = s.hmac(s.hmac(salted, "Server Key"), authMessage)
	s.password = ""
	return []byte(withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof)), nil
}

// verify checks the server-final-message: the server's error, or its
// signature, which must be the one clientFinal computed.
func (s *scram) verify(serverFinal string) ([]byte, error) {
	attrs, err := s.attributes(serverFinal, "server-final-message")
	if err != nil {
		return nil, err
	}
	v, ok := attrs['v']
	if !ok {
		return nil, fmt.Errorf("%s: no server signature in the server-final-message", s.mechanism)
	}
	signature, err := base64.StdEncoding.DecodeString(v)
	if err != nil || !hmac.Equal(signature, s.serverSignature) {
		return nil, fmt.Errorf("%s: server signature does not match: the server does not know the password", s.mechanism)
	}
	return []byte{}, nil
}

// attributes parses a server message into its attributes, each a letter,
// "=" and a value, separated by commas. A message that is not of that form,
// or repeats an attribute, is an error that names what (the message's
// name), never what it holds; so is the server's error, e=, which the
// error quotes.
func (s *scram) attributes(message, what string) (map[byte]string, error) {
	attrs := map[byte]string{}
	for part := range strings.SplitSeq(message, ",") {
		if len(part) < 2 || part[1] != '=' || !isASCIILetter(part[0]) {
			return nil, fmt.Errorf("%s: malformed %s", s.mechanism, what)
		}
		if _, dup := attrs[part[0]]; dup {
			return nil, fmt.Errorf("%s: malformed %s: attribute %c= repeated", s.mechanism, what, part[0])
		}
		attrs[part[0]] = part[2:]
	}
	if e, ok := attrs['e']; ok {
		return nil, fmt.Errorf("%s: the server reports an error: %s", s.mechanism, e)
	}
	return attrs, nil
}

// hmac returns HMAC(key, message) with the exchange's hash.
func (s *scram) hmac(key []byte, message string) []byte {
	mac := hmac.New(s.hash, key)
	mac.Write([]byte(message))
	return mac.Sum(nil)
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
