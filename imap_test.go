package imaplib2

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLogin(t *testing.T) {
	m := session(t, "login.txt", nil)
	assert.Equal(t, NONAUTH, m.State())
	assert.Equal(t, "IMAP4REV1", m.ProtocolVersion())
	assert.Equal(t, "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN LITERAL+] ready", m.Welcome())
	res := wait(t, m.Login("alice", `pa ss"wo\rd`))
	assert.Equal(t, Result{Type: "OK", Data: []Datum{txt("[CAPABILITY IMAP4rev1 IDLE MOVE] Logged in")}, Text: "[CAPABILITY IMAP4rev1 IDLE MOVE] Logged in"}, res)
	assert.Equal(t, AUTH, m.State())
	assert.Equal(t, []string{"IMAP4REV1", "IDLE", "MOVE"}, m.Capabilities())
	res = wait(t, m.Logout())
	assert.Equal(t, Result{Type: "BYE", Data: []Datum{txt("Logging out")}, Text: "Logout completed."}, res)
	assert.Equal(t, LOGOUT, m.State())
	waitAborts(t, m.Noop())
	waitAborts(t, m.Logout()) // a second Logout
}

func TestCapabilitiesLearned(t *testing.T) {
	m := session(t, "login_nocaps.txt", nil)
	assert.Equal(t, []string{"IMAP4REV1", "STARTTLS", "AUTH=PLAIN"}, m.Capabilities())
	wait(t, m.Login("alice", "secret"))
	assert.Equal(t, []string{"IMAP4REV1", "IDLE", "UIDPLUS"}, m.Capabilities())
}

func TestLoginFailed(t *testing.T) {
	m := session(t, "login_failed.txt", nil)
	err := waitFails(t, m.Login("alice", "wrong"))
	assert.Contains(t, err.Error(), "[AUTHENTICATIONFAILED] Authentication failed.")
	assert.Equal(t, NONAUTH, m.State())
	wait(t, m.Login("alice", "right"))
	assert.Equal(t, AUTH, m.State())
}

func TestAuthenticate(t *testing.T) {
	m := session(t, "authenticate.txt", nil)
	var challenges [][]byte
	waitFails(t, m.Authenticate("plain", func(challenge []byte) ([]byte, error) {
		challenges = append(challenges, challenge)
		return []byte("\x00alice\x00secret"), nil
	}))
	assert.Equal(t, [][]byte{nil}, challenges, "PLAIN: the client speaks first, asked with a nil challenge")
	// RFC 2195's example: user tim, key tanstaaftanstaaf.
	wait(t, m.LoginCramMD5("tim", "tanstaaftanstaaf"))
	assert.Equal(t, AUTH, m.State())
}

func TestAuthenticateCancel(t *testing.T) {
	m := session(t, "authenticate_cancel.txt", nil)
	var got []byte
	err := waitFails(t, m.Authenticate("X-TOKEN", func(challenge []byte) ([]byte, error) {
		got = challenge
		return nil, errors.New("no token")
	}))
	assert.Contains(t, err.Error(), "Client aborted AUTHENTICATE")
	assert.Contains(t, err.Error(), "no token", "the Authenticator's error is the cause")
	assert.Equal(t, []byte{}, got, "a server-first mechanism: the non-base64 challenge is empty, not nil")
}

func TestSelect(t *testing.T) {
	m := session(t, "select.txt", nil)
	res := wait(t, m.Select("", false))
	assert.Equal(t, Result{Type: "OK", Data: []Datum{txt("172")}, Text: "[READ-WRITE] SELECT completed"}, res)
	assert.Equal(t, SELECTED, m.State())
	assert.Equal(t, []string{`(\Answered \Flagged \Deleted \Seen \Draft)`}, texts(m.Response("FLAGS").Data))
	assert.Equal(t, []string{`(\Answered \Flagged \Deleted \Seen \Draft [x] \*)`}, texts(m.Response("PERMANENTFLAGS").Data))
	assert.Equal(t, Result{Type: "uidvalidity", Data: []Datum{txt("3857529045")}}, m.Response("uidvalidity"))
	assert.Equal(t, Result{Type: "UIDVALIDITY", Data: []Datum{{}}}, m.Response("UIDVALIDITY"), "Response pops")
	assert.Equal(t, []string{""}, texts(m.Response("READ-WRITE").Data))

	res = wait(t, m.Examine("Sent Items"))
	assert.Equal(t, []string{"3"}, texts(res.Data))
	assert.Equal(t, []Datum{{}}, m.Response("UNSEEN").Data, "SELECT flushes what came before")

	res = wait(t, m.Select("nosuch", false))
	assert.Equal(t, Result{Type: "NO", Data: []Datum{txt("Mailbox doesn't exist: nosuch")}, Text: "Mailbox doesn't exist: nosuch"}, res)
	assert.Equal(t, AUTH, m.State())
}

func TestSelectReadonly(t *testing.T) {
	m := session(t, "select_readonly.txt", nil)
	_, err := waitResult(t, m.Select("INBOX", false))
	assert.ErrorIs(t, err, ErrReadonly)
	assert.ErrorIs(t, err, ErrAbort)
	assert.Equal(t, SELECTED, m.State())
	wait(t, m.Select("INBOX", false))
	wait(t, m.Noop())
	_, err = waitResult(t, m.Fetch("1", "(FLAGS)"))
	assert.ErrorIs(t, err, ErrReadonly, "FETCH after READ-ONLY is refused unsent")
	assert.Equal(t, "", m.Fetch("1", "(FLAGS)").Tag())
	wait(t, m.Close())
	assert.Equal(t, AUTH, m.State())
}

func TestFetchLiterals(t *testing.T) {
	m := session(t, "fetch_literals.txt", nil)
	wait(t, m.Select("INBOX", false))
	res := wait(t, m.Fetch("1", "(FLAGS UID BODY[])"))
	assert.Equal(t, []Datum{lit(`1 (FLAGS (\Seen) UID 7 BODY[] {12}`, "hello\r\nworld"), txt(")")}, res.Data)
	assert.True(t, res.Data[0].IsLiteral())
	assert.False(t, res.Data[1].IsLiteral())
	res = wait(t, m.Fetch("2", "(BODY[HEADER] BODY[TEXT] FLAGS)"))
	assert.Equal(t, []Datum{lit("2 (BODY[HEADER] {3}", "abc"), lit(" BODY[TEXT] {2}", "de"), txt(` FLAGS (\Seen))`)}, res.Data)
	res = wait(t, m.Fetch("3:4", "(UID FLAGS)"))
	assert.Equal(t, []Datum{txt("3 (UID 10 FLAGS ())"), txt(`4 (UID 11 FLAGS (\Seen))`)}, res.Data)
	res = wait(t, m.Fetch("5", "BODY[]"))
	assert.Equal(t, []Datum{lit("5 (BODY[] {0}", ""), txt(")")}, res.Data)
	assert.True(t, res.Data[0].IsLiteral(), "an empty literal is still a literal")
	res = wait(t, m.Fetch("6:7", "BODY[]"))
	assert.Equal(t, []Datum{lit("6 (BODY[] {3}", "xyz"), txt(")"), lit("7 (BODY[] {1}", "q"), txt(")")}, res.Data)
}

func TestPipelinedOutOfOrder(t *testing.T) {
	m := session(t, "pipelined.txt", nil)
	wait(t, m.Select("INBOX", false))
	one, two, three := m.Fetch("1", "(BODY[])"), m.Fetch("2", "(BODY[])"), m.Fetch("3", "(BODY[])")
	assert.Equal(t, []Datum{lit("3 (BODY[] {5}", "three"), txt(")")}, wait(t, three).Data)
	assert.Equal(t, []Datum{lit("1 (BODY[] {3}", "one"), txt(")")}, wait(t, one).Data)
	assert.Equal(t, []Datum{lit("2 (BODY[] {3}", "two"), txt(")")}, wait(t, two).Data)
	assert.Equal(t, []string{`9 (FLAGS (\Seen))`}, texts(m.Response("FETCH").Data), "a FETCH of another message stays unsolicited")
	assert.Equal(t, []string{"8"}, texts(m.Response("EXPUNGE").Data))
}

func TestUnsolicitedNeverLeaks(t *testing.T) {
	m := session(t, "unsolicited.txt", nil)
	wait(t, m.Select("INBOX", false))
	assert.Equal(t, []Datum{txt("NOOP done")}, wait(t, m.Noop()).Data)
	assert.Equal(t, []string{`2 (FLAGS (\Seen))`}, texts(wait(t, m.Fetch("2", "(FLAGS)")).Data))
	assert.Equal(t, []string{"1"}, texts(wait(t, m.Expunge()).Data))
	assert.Equal(t, []Datum{txt("")}, wait(t, m.Search("", "UNSEEN")).Data)
	assert.Equal(t, []Untagged{
		{Type: "READ-WRITE", Data: []Datum{txt("")}}, // SELECT's tagged code
		{Type: "FETCH", Data: []Datum{txt(`2 (FLAGS (\Deleted))`)}},
		{Type: "EXPUNGE", Data: []Datum{txt("3")}},
		{Type: "EXISTS", Data: []Datum{txt("5")}},
	}, m.PopUntaggedResponses())
	assert.Empty(t, m.PopUntaggedResponses())
}

func TestAppend(t *testing.T) {
	m := session(t, "append.txt", nil)
	date := time.Date(1996, 7, 17, 2, 44, 25, 0, time.FixedZone("", -7*3600))
	res := wait(t, m.Append("", `\Seen`, date, []byte("line1\nline2\r")))
	assert.Equal(t, []Datum{txt("[APPENDUID 38505 3955] APPEND completed")}, res.Data)
	assert.Equal(t, []string{"38505 3955"}, texts(m.Response("APPENDUID").Data))
	assert.Equal(t, []string{"3"}, texts(m.Response("EXISTS").Data))
	res = wait(t, m.Append("Drafts", "", time.Time{}, []byte("hi")))
	assert.Equal(t, "NO", res.Type)
}

func TestAppendLiteralPlus(t *testing.T) {
	m := session(t, "append_literalplus.txt", nil)
	wait(t, m.Append("INBOX", "", time.Time{}, []byte("hello")))
}

func TestIdle(t *testing.T) {
	m := session(t, "idle.txt", nil)
	wait(t, m.Select("INBOX", false))
	res := wait(t, m.Idle(0))
	assert.Equal(t, []Datum{txt("IDLE terminated")}, res.Data)
	assert.Equal(t, []string{"4", "5"}, texts(m.Response("EXISTS").Data))

	idle := m.Idle(time.Hour)
	noop := m.Noop() // ends the IDLE at once: DONE, then NOOP
	wait(t, idle)
	wait(t, noop)

	wait(t, m.Idle(time.Millisecond)) // ends by its timeout
	assert.Equal(t, []string{"TIMEOUT"}, texts(m.Response("IDLE").Data))
}

func TestIdleRefused(t *testing.T) {
	m := session(t, "idle_refused.txt", &Options{Timeout: time.Minute})
	res := wait(t, m.Idle(0))
	assert.Equal(t, "NO", res.Type)
	wait(t, m.Noop())
}

func TestIdleUnsupported(t *testing.T) {
	m := connect(t, newScriptServer(t, "no IDLE", `
S: * PREAUTH [CAPABILITY IMAP4rev1] Logged in
C: $1 NOOP
S: $1 OK done
`), nil)
	err := waitFails(t, m.Idle(0))
	assert.Contains(t, err.Error(), "server does not support IDLE")
	wait(t, m.Noop())
}

func TestQuoting(t *testing.T) {
	m := session(t, "quoting.txt", nil)
	for _, name := range []string{"INBOX", "a b", "", `"already quoted"`, "[Gmail]/Sent", "%", `a"b`, `back\slash`,
		"it's", "user@example.com", "x]", "x\r\ny", "Grüß", "'1:*'", "1:*"} {
		_, err := waitResult(t, m.Create(name))
		require.NoError(t, err, name)
	}
	wait(t, m.Select("INBOX", false))
	wait(t, m.Search("", "SUBJECT", "x\r\ny"))
	wait(t, m.Search("", "SUBJECT", "Grüß"))
	wait(t, m.Search("", "SUBJECT", "a b", "FROM", `x"y`))
	for _, c := range []*Command{m.Create("a\x00b"), m.Fetch("1", "BODY[] {5}")} {
		waitFails(t, c)
		assert.Equal(t, "", c.Tag(), "nothing sent")
	}
	for _, bad := range []string{"a\x00b", "(a\r\nb)", "'x\ny'", `'"'`, `(a "b)`, "'x {5}'"} {
		c := m.Search("", bad)
		_, err := waitResult(t, c)
		assert.ErrorIs(t, err, ErrError, "%q", bad)
		assert.Equal(t, "", c.Tag(), "nothing sent for %q", bad)
	}
}

func TestCommands(t *testing.T) {
	m := session(t, "commands.txt", nil)
	res := wait(t, m.ID("name", "imaplib2", "version", ""))
	assert.Equal(t, []string{`("name" "Dovecot")`}, texts(res.Data))
	assert.Equal(t, []string{"IMAP4rev1 ENABLE ID ACL QUOTA SORT THREAD=REFERENCES NAMESPACE"}, texts(wait(t, m.Capability()).Data))
	assert.Equal(t, []string{"NOOP completed"}, texts(wait(t, m.Noop()).Data))
	wait(t, m.Login("alice", "pw"))
	assert.Equal(t, []string{"enabled"}, texts(wait(t, m.Enable("CONDSTORE")).Data))
	assert.Equal(t, []Datum{txt(`(\HasNoChildren) "/" INBOX`), lit(`(\HasNoChildren) "/" {11}`, `Has "quote"`)}, wait(t, m.List("", "*")).Data)
	assert.Equal(t, []string{`() "/" INBOX`}, texts(wait(t, m.Lsub("", "%")).Data))
	assert.Equal(t, []string{`(("" "/")) NIL NIL`}, texts(wait(t, m.Namespace()).Data))
	assert.Equal(t, []string{"INBOX (MESSAGES 231 UIDNEXT 44292)"}, texts(wait(t, m.Status("INBOX", "(MESSAGES UIDNEXT)")).Data))
	assert.Equal(t, []string{"done"}, texts(wait(t, m.Delete("old")).Data))
	wait(t, m.Rename("old", "new"))
	wait(t, m.Subscribe("new"))
	wait(t, m.Unsubscribe("new"))
	assert.Equal(t, []string{"INBOX alice lrswipkxtecda"}, texts(wait(t, m.GetACL("INBOX")).Data))
	wait(t, m.SetACL("INBOX", "bob", "lr"))
	wait(t, m.DeleteACL("INBOX", "bob"))
	assert.Equal(t, []string{"INBOX lrswipkxtecda"}, texts(wait(t, m.MyRights("INBOX")).Data))
	assert.Equal(t, []string{`"" (STORAGE 10 512)`}, texts(wait(t, m.GetQuota("")).Data))
	assert.Equal(t, []string{`INBOX ""`, `"" (STORAGE 10 512)`}, texts(wait(t, m.GetQuotaRoot("INBOX")).Data))
	assert.Equal(t, []string{`"" (STORAGE 10 1024)`}, texts(wait(t, m.SetQuota("", "(STORAGE 1024)")).Data))
	assert.Equal(t, []string{`INBOX "/comment" ("value.shared" "hi")`}, texts(wait(t, m.GetAnnotation("INBOX", "/comment", "value.shared")).Data))
	wait(t, m.SetAnnotation("INBOX", "/comment", `(value.shared "new")`))
	assert.Equal(t, Result{Type: "NO", Data: []Datum{txt("not allowed")}, Text: "not allowed"}, wait(t, m.ProxyAuth("bob")))
	wait(t, m.Select("INBOX", false))
	wait(t, m.Check())
	assert.Equal(t, []string{"2 3"}, texts(wait(t, m.Search("UTF-8", "SUBJECT", "hello world")).Data))
	assert.Equal(t, []string{"3 2 1 4"}, texts(wait(t, m.Sort("REVERSE DATE", "UTF-8", "ALL")).Data))
	assert.Equal(t, []string{"(2)(3 6 (4 23))"}, texts(wait(t, m.Thread("REFERENCES", "UTF-8", "ALL")).Data))
	assert.Equal(t, []string{`1 (FLAGS (\Deleted))`, `2 (FLAGS (\Deleted \Seen))`}, texts(wait(t, m.Store("1:2", "+FLAGS", `\Deleted`)).Data))
	wait(t, m.Copy("1:2", "Trash"))
	assert.Equal(t, []string{"5 1:2 7:8"}, texts(m.Response("COPYUID").Data))
	assert.Equal(t, []Datum{lit("3 (BODY[]<0> {4}", "abcd"), txt(")")}, wait(t, m.Partial("3", "BODY[]", 0, 4)).Data)
	assert.Equal(t, []string{`1 (UID 7 FLAGS (\Seen))`, "2 (FLAGS () UID 8)"}, texts(wait(t, m.UID("fetch", "7:8", "(FLAGS)")).Data))
	assert.Equal(t, []string{"7 8 9"}, texts(wait(t, m.UID("SEARCH", "ALL")).Data))
	assert.Equal(t, []string{"1 (UID 7 FLAGS ())"}, texts(wait(t, m.UID("STORE", "7", "-FLAGS", `\Seen`)).Data))
	assert.Equal(t, []Datum{{}}, wait(t, m.UID("COPY", "7", "Trash")).Data)
	assert.Equal(t, []string{"2", "1"}, texts(wait(t, m.Expunge()).Data))
	err := waitFails(t, m.Xatom("XFOO", "a b"))
	assert.Contains(t, err.Error(), "BAD unknown command")
	assert.Equal(t, Result{Type: "OK", Data: []Datum{txt("2")}, Text: "done"}, wait(t, m.Recent()))
	wait(t, m.Close())
	assert.Equal(t, "BYE", wait(t, m.Logout()).Type)
}

func TestRecentFromStore(t *testing.T) {
	m := session(t, "unsolicited.txt", nil)
	wait(t, m.Select("INBOX", false))
	wait(t, m.Noop())
	m.mu.Lock()
	m.router.store.add(entry{typ: "RECENT", data: []Datum{txt("3")}})
	m.mu.Unlock()
	res := wait(t, m.Recent()) // answered from the store, nothing sent
	assert.Equal(t, Result{Type: "OK", Data: []Datum{txt("3")}}, res)
	wait(t, m.Fetch("2", "(FLAGS)"))
	wait(t, m.Expunge())
	wait(t, m.Search("", "UNSEEN"))
}

func TestByeAbortsPending(t *testing.T) {
	m := session(t, "bye.txt", nil)
	wait(t, m.Select("INBOX", false))
	a, b := m.Fetch("1", "(FLAGS)"), m.Fetch("2", "(FLAGS)")
	for _, c := range []*Command{a, b} {
		err := waitAborts(t, c)
		assert.Contains(t, err.Error(), "Server shutting down")
	}
	assert.Equal(t, LOGOUT, m.State())
	assert.Equal(t, []string{"Server shutting down"}, texts(m.Response("BYE").Data))
	waitAborts(t, m.Noop())
}

func TestEOFMidLiteral(t *testing.T) {
	m := session(t, "eof_literal.txt", nil)
	wait(t, m.Select("INBOX", false))
	err := waitAborts(t, m.Fetch("1", "BODY[]"))
	assert.Contains(t, err.Error(), "in the middle of a response")
}

func TestSilentServerTimeout(t *testing.T) {
	m := session(t, "silent.txt", &Options{Timeout: 50 * time.Millisecond})
	err := waitAborts(t, m.Noop())
	assert.Contains(t, err.Error(), "no response after 50ms")
}

func TestWrongState(t *testing.T) {
	m := session(t, "wrong_state.txt", nil)
	for _, c := range []*Command{m.Select("INBOX", false), m.Fetch("1", "BODY[]"), m.List("", "*")} {
		err := waitFails(t, c)
		assert.Contains(t, err.Error(), "illegal in state NONAUTH")
		assert.Equal(t, "", c.Tag())
	}
	wait(t, m.Noop())
}

func TestBadAndTerseStatus(t *testing.T) {
	m := session(t, "bad.txt", nil)
	err := waitFails(t, m.Create("x"))
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "CREATE", e.Command)
	assert.Equal(t, "imaplib2: CREATE: BAD Error in IMAP command CREATE: syntax", err.Error())
	assert.Equal(t, Result{Type: "OK", Data: []Datum{{}}}, wait(t, m.Noop()))
	assert.Equal(t, "OK", wait(t, m.Noop()).Type)
}

func TestCallbacks(t *testing.T) {
	m := session(t, "callbacks.txt", nil)
	wait(t, m.Select("INBOX", false))
	var mu sync.Mutex
	var order []string
	var noop Result
	done := make(chan struct{})
	record := func(r Result, err error) {
		mu.Lock()
		defer mu.Unlock()
		require.NoError(t, err)
		order = append(order, r.Data[0].Text)
	}
	m.Fetch("1", "(UID)").OnDone(record)
	m.Fetch("2", "(UID)").OnDone(record).OnDone(func(Result, error) { close(done) })
	m.Fetch("3", "(UID)").OnDone(func(Result, error) { panic("callback bug") }).OnDone(record).OnDone(func(Result, error) {
		noop = wait(t, m.Noop()) // a callback may issue a command and wait for it
	})
	receive(t, done, "the callbacks of the second FETCH")
	assert.Equal(t, []string{"3 (UID 30)", "1 (UID 10)", "2 (UID 20)"}, order)
	assert.Equal(t, "OK", noop.Type)
}

func TestOnDoneAfterCompletion(t *testing.T) {
	m := session(t, "wrong_state.txt", nil)
	c := m.Noop()
	wait(t, c)
	ran := make(chan Result, 1)
	c.OnDone(func(r Result, err error) { ran <- r })
	assert.Equal(t, "OK", receive(t, ran, "the callback of a completed command").Type)
}

func TestWaitContext(t *testing.T) {
	m := session(t, "silent.txt", &Options{Timeout: 50 * time.Millisecond})
	c := m.Noop()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.WaitContext(ctx)
	assert.ErrorIs(t, err, context.Canceled)
	_, err = c.WaitContext(context.Background())
	assert.ErrorIs(t, err, ErrAbort, "the command itself completes when the connection ends")
	assert.NoError(t, m.Shutdown(), "Shutdown is idempotent")
}

func TestDebugOutput(t *testing.T) {
	var out bytes.Buffer
	m := session(t, "login.txt", &Options{Debug: 4, DebugWriter: &out, Identifier: "test"})
	wait(t, m.Login("alice", `pa ss"wo\rd`))
	wait(t, m.Logout())
	log := out.String()
	assert.Contains(t, log, " test writer > ")
	assert.Contains(t, log, "LOGIN alice <redacted>")
	assert.NotContains(t, log, "wo\\")
	assert.NotContains(t, log, "pa ss")
}

func TestDebugQuietAtLevelZero(t *testing.T) {
	var out bytes.Buffer
	m := session(t, "bad.txt", &Options{DebugWriter: &out})
	waitResult(t, m.Create("x"))
	waitResult(t, m.Noop())
	waitResult(t, m.Noop())
	assert.Empty(t, out.String())
}

func TestDebugRingDumpedOnError(t *testing.T) {
	var out bytes.Buffer
	m := session(t, "bad.txt", &Options{Debug: 3, DebugWriter: &out})
	waitResult(t, m.Create("x"))
	waitResult(t, m.Noop())
	waitResult(t, m.Noop())
	log := out.String()
	assert.Contains(t, log, "last ")
	assert.Contains(t, log, "log messages:")
	assert.True(t, strings.Count(log, "CREATE") >= 2, log)
}

func TestGreetings(t *testing.T) {
	for _, tt := range []struct {
		name, greeting, state, err string
	}{
		{"ok", "* OK [CAPABILITY IMAP4rev1] ready", NONAUTH, ""},
		{"preauth", "* PREAUTH [CAPABILITY IMAP4rev2 IMAP4rev1] Logged in", AUTH, ""},
		{"lower case", "* ok [CAPABILITY IMAP4] hi", NONAUTH, ""},
		{"bye", "* BYE Too many connections", "", "server refused the connection: Too many connections"},
		{"garbage", "HTTP/1.1 400 Bad Request", "", `unrecognised server welcome message: "HTTP/1.1 400 Bad Request"`},
		{"not IMAP", "* OK [CAPABILITY POP3] hi", "", "server not IMAP4 compliant"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			script := "S: " + tt.greeting + "\n"
			if tt.err != "" {
				script += "!expect-eof\n"
			}
			srv := newScriptServer(t, tt.name, script)
			leaks := newLeakBaseline()
			m, err := New(srv.Host(), &Options{Port: srv.Port()})
			if tt.err != "" {
				require.ErrorIs(t, err, ErrError)
				assert.Contains(t, err.Error(), tt.err)
				srv.Wait()
				leaks.check(t)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.state, m.State())
			assert.Equal(t, tt.greeting, m.Welcome())
			m.Shutdown()
			srv.Wait()
			leaks.check(t)
		})
	}
	t.Run("IMAP4rev2", func(t *testing.T) {
		m := connect(t, newScriptServer(t, "rev2", "S: * OK [CAPABILITY IMAP4rev2 IMAP4rev1] hi\n"), nil)
		assert.Equal(t, "IMAP4REV2", m.ProtocolVersion())
	})
	t.Run("silent", func(t *testing.T) {
		srv := newScriptServer(t, "silent greeting", "!silent\n")
		_, err := New(srv.Host(), &Options{Port: srv.Port(), Timeout: 50 * time.Millisecond})
		require.ErrorIs(t, err, ErrAbort)
		assert.Contains(t, err.Error(), "no greeting from server after 50ms")
		srv.Wait()
	})
}

// TestThousandPipelinedFetches issues 1,000 FETCH commands at once; the
// server answers them in reverse order, each body tagged with its message
// number, and every command must get exactly its own message.
func TestThousandPipelinedFetches(t *testing.T) {
	const n = 1000
	var script strings.Builder
	script.WriteString("S: * PREAUTH [CAPABILITY IMAP4rev1] hi\nC: $s SELECT INBOX\nS: * 1000 EXISTS\nS: $s OK done\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&script, "C: $%d FETCH %d (BODY[])\n", i, i)
	}
	for i := n; i >= 1; i-- {
		body := fmt.Sprintf("message %d", i)
		fmt.Fprintf(&script, "S: * %d FETCH (BODY[] {%d}\nS~ %s\nS: )\n", i, len(body), body)
		if i%2 == 0 { // complete every other command later still
			fmt.Fprintf(&script, "S: $%d OK done\n", i)
		}
	}
	for i := 1; i <= n; i += 2 {
		fmt.Fprintf(&script, "S: $%d OK done\n", i)
	}
	m := connect(t, newScriptServer(t, "1000 fetches", script.String()), nil)
	wait(t, m.Select("INBOX", false))
	cmds := make([]*Command, n+1)
	for i := 1; i <= n; i++ {
		cmds[i] = m.Fetch(strconv.Itoa(i), "(BODY[])")
	}
	for i := 1; i <= n; i++ {
		res := wait(t, cmds[i])
		require.Len(t, res.Data, 2, "FETCH %d", i)
		assert.Equal(t, fmt.Sprintf("message %d", i), string(res.Data[0].Literal))
	}
	assert.Equal(t, []Datum{{}}, m.Response("FETCH").Data, "nothing left over")
}

func TestEOFAfterContinuation(t *testing.T) {
	m := connect(t, newScriptServer(t, "eof after +", `
S: * PREAUTH [CAPABILITY IMAP4rev1] hi
C: $1 APPEND INBOX {5}
S: + go
!eof
`), nil)
	waitAborts(t, m.Append("INBOX", "", time.Time{}, []byte("hello")))
	waitAborts(t, m.Noop())
}

func TestUTF8Accept(t *testing.T) {
	m := connect(t, newScriptServer(t, "utf8", `
S: * PREAUTH [CAPABILITY IMAP4rev1 ENABLE UTF8=ACCEPT] hi
C: $1 CREATE Gr&APwA3w-
S: $1 OK done
C: $2 ENABLE UTF8=ACCEPT
S: * ENABLED UTF8=ACCEPT
S: $2 OK enabled
C: $3 CREATE "Gr`+"\xc3\xbc\xc3\x9f"+`"
S: $3 OK done
C: $4 APPEND INBOX UTF8 (~{2}
S: + go
C~ hi
C: )
S: $4 OK done
`), nil)
	wait(t, m.Create("Grüß"))
	wait(t, m.Enable("UTF8=ACCEPT"))
	wait(t, m.Create("Grüß"))
	wait(t, m.Append("INBOX", "", time.Time{}, []byte("hi")))
	_, err := waitResult(t, m.Search("UTF-8", "ALL"))
	assert.ErrorIs(t, err, ErrError, "CHARSET is refused in UTF8 mode")
}

func TestBareLFAndLongLine(t *testing.T) {
	srv := newScriptServer(t, "bare LF", `
S: * PREAUTH [CAPABILITY IMAP4rev1] hi
C: $1 NOOP
S~ * 3 EXISTS\n$1 OK done\n
C: $2 NOOP
S: * 1 FETCH (UID 123456789012345678901234567890)
`)
	m := connect(t, srv, &Options{MaxLineSize: 40})
	wait(t, m.Noop())
	assert.Equal(t, []string{"3"}, texts(m.Response("EXISTS").Data), "a bare LF ends a line; nothing is cut off")
	err := waitAborts(t, m.Noop())
	assert.Contains(t, err.Error(), "longer than 40 bytes")
}

func TestLiteralTooLarge(t *testing.T) {
	m := connect(t, newScriptServer(t, "huge literal", `
S: * PREAUTH [CAPABILITY IMAP4rev1] hi
C: $1 NOOP
S: * 1 FETCH (BODY[] {99999999999}
`), &Options{MaxLiteralSize: 1 << 20})
	err := waitAborts(t, m.Noop())
	assert.Contains(t, err.Error(), "exceeds the limit")
}

func TestFetchFunc(t *testing.T) {
	m := connect(t, newScriptServer(t, "fetch func", `
S: * PREAUTH [CAPABILITY IMAP4rev1] hi
C: $1 SELECT INBOX
S: * 3 EXISTS
S: $1 OK [READ-WRITE] done
C: $2 FETCH 1:2 (BODY[])
S: * 1 FETCH (BODY[] {3}
S~ one
S: )
S: * 3 FETCH (FLAGS (\Seen))
S: * 2 FETCH (BODY[] {3}
S~ two
S: )
S: $2 OK done
C: $3 UID FETCH 7 (BODY[])
S: * 1 FETCH (UID 7 BODY[] {3}
S~ one
S: )
S: $3 OK done
`), nil)
	wait(t, m.Select("INBOX", false))
	var got []string
	res := wait(t, m.FetchFunc("1:2", "(BODY[])", func(msg []Datum) {
		got = append(got, string(msg[0].Literal))
	}))
	assert.Equal(t, []string{"one", "two"}, got)
	assert.Equal(t, []Datum{{}}, res.Data, "streamed responses are not kept")
	assert.Equal(t, []string{`3 (FLAGS (\Seen))`}, texts(m.Response("FETCH").Data), "other messages stay unsolicited")
	var uidMsg []Datum
	wait(t, m.UIDFetchFunc("7", "(BODY[])", func(msg []Datum) { uidMsg = msg }))
	assert.Equal(t, []Datum{lit("1 (UID 7 BODY[] {3}", "one"), txt(")")}, uidMsg)
}

func TestXatomUnselect(t *testing.T) {
	m := connect(t, newScriptServer(t, "unselect", `
S: * PREAUTH [CAPABILITY IMAP4rev1 UNSELECT] hi
C: $1 SELECT INBOX
S: * 1 EXISTS
S: $1 OK [READ-WRITE] done
C: $2 UNSELECT
S: $2 OK Unselect completed
`), nil)
	wait(t, m.Select("INBOX", false))
	wait(t, m.Xatom("unselect"))
	assert.Equal(t, AUTH, m.State())
	_, err := waitResult(t, m.Fetch("1", "(FLAGS)"))
	assert.ErrorIs(t, err, ErrError, "FETCH is refused unsent after UNSELECT")
}

// TestFetchFuncReusesMemory: streamed literals live in one buffer reused
// from message to message, yet each message, with several literals, comes
// out whole while each runs.
func TestFetchFuncReusesMemory(t *testing.T) {
	m := connect(t, newScriptServer(t, "fetch func reuse", `
S: * PREAUTH [CAPABILITY IMAP4rev1] hi
C: $1 SELECT INBOX
S: * 3 EXISTS
S: $1 OK [READ-WRITE] done
C: $2 FETCH 1:3 (BODY[HEADER] BODY[TEXT])
S: * 1 FETCH (BODY[HEADER] {5}
S~ head1
S:  BODY[TEXT] {5}
S~ text1
S: )
S: * 2 FETCH (BODY[HEADER] {5}
S~ head2
S:  BODY[TEXT] {5}
S~ text2
S: )
S: * 3 FETCH (BODY[HEADER] {7}
S~ header3
S:  BODY[TEXT] {40}
S~ a body longer than what came before it..
S: )
S: $2 OK done
`), nil)
	wait(t, m.Select("INBOX", false))
	var got []string
	var first []byte
	firstDuringSecond := ""
	wait(t, m.FetchFunc("1:3", "(BODY[HEADER] BODY[TEXT])", func(msg []Datum) {
		require.Len(t, msg, 3)
		got = append(got, string(msg[0].Literal)+"|"+string(msg[1].Literal))
		if first == nil {
			first = msg[0].Literal
		} else if firstDuringSecond == "" {
			firstDuringSecond = string(first)
		}
	}))
	assert.Equal(t, []string{"head1|text1", "head2|text2", "header3|a body longer than what came before it.."}, got)
	assert.Equal(t, "head2", firstDuringSecond, "the first message's memory was reused for the second")
}

// slogRecorder is a slog.Handler that keeps every record.
type slogRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *slogRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *slogRecorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *slogRecorder) WithGroup(string) slog.Handler            { return h }
func (h *slogRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r)
	return nil
}

// lines returns each record as "dir|tag|message", and the set of its
// conn attributes and of its levels.
func (h *slogRecorder) lines() (lines []string, conns map[string]bool, levels map[slog.Level]bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	conns, levels = map[string]bool{}, map[slog.Level]bool{}
	for _, r := range h.records {
		attrs := map[string]string{}
		r.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value.String(); return true })
		conns[attrs["conn"]], levels[r.Level] = true, true
		lines = append(lines, fmt.Sprintf("%s|%s|%s", attrs["dir"], attrs["tag"], r.Message))
	}
	return lines, conns, levels
}

func TestDebugSlogLogger(t *testing.T) {
	var out bytes.Buffer
	h := &slogRecorder{}
	m := session(t, "login.txt", &Options{Debug: 4, DebugWriter: &out, Identifier: "test", Logger: slog.New(h)})
	login := m.Login("alice", `pa ss"wo\rd`)
	wait(t, login)
	wait(t, m.Logout())
	lines, conns, levels := h.lines()
	assert.Empty(t, out.String(), "with a Logger, DebugWriter gets nothing")
	assert.Equal(t, map[string]bool{"test": true}, conns)
	assert.Equal(t, map[slog.Level]bool{slog.LevelDebug: true}, levels)
	tag := login.Tag()
	assert.Contains(t, lines, "S||* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN LITERAL+] ready")
	assert.Contains(t, lines, "C|"+tag+"|"+tag+" LOGIN alice <redacted>")
	assert.Contains(t, lines, "S|"+tag+"|"+tag+" OK [CAPABILITY IMAP4rev1 IDLE MOVE] Logged in")
	assert.Contains(t, lines, "S||* BYE Logging out")
	assert.Contains(t, lines, "||state => AUTH", "the library's own events have no dir")
	for _, l := range lines {
		assert.NotContains(t, l, "pa ss")
		assert.NotContains(t, l, `wo\`)
	}
}

// TestStatusRouting: STATUS data is keyed by mailbox, so pipelined STATUS
// commands each get their own, even for one mailbox twice and answered
// out of order.
func TestStatusRouting(t *testing.T) {
	m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1] ready
C: $1 STATUS INBOX (MESSAGES)
C: $2 STATUS Archive (MESSAGES)
C: $3 STATUS INBOX (UNSEEN)
S: * STATUS Archive (MESSAGES 7)
S: * STATUS "INBOX" (MESSAGES 3)
S: * STATUS inbox (UNSEEN 1)
S: $3 OK done
S: $2 OK done
S: $1 OK done
`), nil)
	a, b, c := m.Status("INBOX", "(MESSAGES)"), m.Status("Archive", "(MESSAGES)"), m.Status("INBOX", "(UNSEEN)")
	assert.Equal(t, []string{`"INBOX" (MESSAGES 3)`}, texts(wait(t, a).Data))
	assert.Equal(t, []string{"Archive (MESSAGES 7)"}, texts(wait(t, b).Data))
	assert.Equal(t, []string{"inbox (UNSEEN 1)"}, texts(wait(t, c).Data))
}

// TestFetchFuncEmptyLiteral: a {0} literal that a FetchFunc reads first,
// before its buffer holds anything, is still a literal, and ParseMessage
// reads it as an empty body.
func TestFetchFuncEmptyLiteral(t *testing.T) {
	m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1] hi
C: $1 SELECT INBOX
S: * 1 EXISTS
S: $1 OK [READ-WRITE] done
C: $2 FETCH 1 (BODY[])
S: * 1 FETCH (BODY[] {0}
S: )
S: $2 OK done
`), nil)
	wait(t, m.Select("INBOX", false))
	var body []byte
	var parseErr error
	wait(t, m.FetchFunc("1", "(BODY[])", func(msg []Datum) {
		var parsed Message
		parsed, parseErr = ParseMessage(msg)
		body = parsed.Body("BODY[]")
	}))
	require.NoError(t, parseErr)
	assert.NotNil(t, body)
	assert.Empty(t, body)
}
