package imaplib2

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Transcript tests of the modern IMAP of API.md Part 2: the exact bytes
// on the wire and what the commands collect.

func TestEnableSeveralAtoms(t *testing.T) {
	m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1 ENABLE CONDSTORE QRESYNC] ready
C: $1 ENABLE CONDSTORE QRESYNC
S: * ENABLED CONDSTORE QRESYNC
S: $1 OK enabled
`), nil)
	_, err := waitResult(t, m.SelectWith("INBOX", SelectOptions{QResync: &QResync{UIDValidity: 1, ModSeq: 2}}))
	require.ErrorIs(t, err, ErrError, "QRESYNC before ENABLED confirmed it: refused, nothing sent")
	require.NotErrorIs(t, err, ErrAbort)
	assert.Contains(t, err.Error(), "QRESYNC is not enabled")
	assert.Equal(t, []string{"enabled"}, texts(wait(t, m.Enable("CONDSTORE QRESYNC")).Data), "imaplib2: the tagged text")
	assert.Equal(t, []string{"CONDSTORE QRESYNC"}, texts(m.Response("ENABLED").Data))
	_, err = waitResult(t, m.Enable("BAD(ATOM"))
	assert.ErrorIs(t, err, ErrError)
}

// TestSelectQResync: RFC 7162 §3.2.5.2's example: the QRESYNC SELECT
// collects the VANISHED (EARLIER) and the FETCH of the changed messages.
func TestSelectQResync(t *testing.T) {
	m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1 ENABLE CONDSTORE QRESYNC] ready
C: $1 ENABLE QRESYNC
S: * ENABLED QRESYNC
S: $1 OK enabled
C: $2 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))
S: * OK [CLOSED]
S: * 314 EXISTS
S: * 15 RECENT
S: * OK [UIDVALIDITY 67890007] UIDVALIDITY
S: * OK [UIDNEXT 567] Predicted next UID
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Deleted \Seen \*)] Limited
S: * OK [HIGHESTMODSEQ 20060115194045000] Highest
S: * VANISHED (EARLIER) 41,43:116,118,120:211,214:540
S: * 49 FETCH (UID 117 FLAGS (\Seen \Answered) MODSEQ (20060115194045001))
S: * 50 FETCH (UID 119 FLAGS (\Draft $MDNSent) MODSEQ (20060115194045308))
S: * 51 FETCH (UID 541 FLAGS (\Seen $Forwarded) MODSEQ (20060115194045001))
S: $2 OK [READ-WRITE] mailbox selected
C: $3 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)
S: * VANISHED (EARLIER) 300:310,405,411
S: * 1 FETCH (UID 404 MODSEQ (65402) FLAGS (\Seen))
S: $3 OK done
C: $4 EXPUNGE
S: * VANISHED 405,407
S: $4 OK expunged
`), nil)
	wait(t, m.Enable("QRESYNC"))
	known, err := ParseNumSet("41,43:211,214:541")
	require.NoError(t, err)
	res := wait(t, m.SelectWith("INBOX", SelectOptions{QResync: &QResync{UIDValidity: 67890007, ModSeq: 20050715194045000, KnownUIDs: known}}))
	vanished, err := res.Vanished()
	require.NoError(t, err)
	assert.Equal(t, "41,43:116,118,120:211,214:540", vanished.String())
	msgs, err := res.Messages()
	require.NoError(t, err)
	require.Len(t, msgs, 3)
	assert.Equal(t, []uint32{117, 119, 541}, []uint32{msgs[0].UID, msgs[1].UID, msgs[2].UID})
	assert.Equal(t, uint64(20060115194045308), msgs[1].ModSeq)
	sel, ok := m.Selected()
	require.True(t, ok)
	assert.Equal(t, SelectedMailbox{Name: "INBOX", Exists: 314, Recent: 15, UIDValidity: 67890007, UIDNext: 567,
		Flags: []string{`\Answered`, `\Flagged`, `\Deleted`, `\Seen`, `\Draft`}, PermanentFlags: []string{`\Deleted`, `\Seen`, `\*`},
		HighestModSeq: 20060115194045308}, sel, "HIGHESTMODSEQ, then the largest MODSEQ of a FETCH (the RFC's example has one above it)")

	res = wait(t, m.UID("FETCH", "300:500", "(FLAGS) (CHANGEDSINCE 12345 VANISHED)"))
	vanished, err = res.Vanished()
	require.NoError(t, err)
	assert.Equal(t, "300:310,405,411", vanished.String())
	msgs, err = res.Messages()
	require.NoError(t, err)
	assert.Equal(t, uint32(404), msgs[0].UID)

	res = wait(t, m.Expunge())
	vanished, err = res.Vanished()
	require.NoError(t, err)
	assert.Equal(t, "405,407", vanished.String(), "EXPUNGE collects the plain VANISHED of QRESYNC")
	sel, _ = m.Selected()
	assert.Equal(t, uint32(312), sel.Exists, "VANISHED counts out of Exists; VANISHED (EARLIER) does not")
}

// TestESearchPipelined: SEARCH RETURN commands pipeline, and each gets the
// ESEARCH that names its tag, whatever the order of the answers.
func TestESearchPipelined(t *testing.T) {
	m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1 ESEARCH] ready
C: $1 SELECT INBOX
S: * 20 EXISTS
S: $1 OK [READ-WRITE] done
C: $2 SEARCH RETURN (ALL) UNSEEN
C: $3 UID SEARCH RETURN (MIN MAX COUNT) ALL
C: $4 SEARCH RETURN (COUNT) DELETED
S: * ESEARCH (TAG "$4") COUNT 0
S: * ESEARCH (TAG "$3") UID MIN 7 MAX 3800 COUNT 15
S: * ESEARCH (TAG "$2") ALL 2,10:11
S: $3 OK done
S: $4 OK done
S: $2 OK done
`), nil)
	wait(t, m.Select("INBOX", false))
	a, b, c := m.Search("", "RETURN", "(ALL)", "UNSEEN"), m.UID("SEARCH", "RETURN", "(MIN MAX COUNT)", "ALL"), m.Search("", "RETURN", "(COUNT)", "DELETED")
	nums, err := wait(t, a).Nums()
	require.NoError(t, err)
	assert.Equal(t, []uint32{2, 10, 11}, nums)
	es, err := wait(t, b).ESearch()
	require.NoError(t, err)
	assert.Equal(t, ESearchData{UID: true, Min: 7, Max: 3800, Count: 15}, es)
	es, err = wait(t, c).ESearch()
	require.NoError(t, err)
	assert.Equal(t, ESearchData{}, es)
}

// TestAppendPipelined: under LITERAL+ every APPEND is on the wire before
// the first tagged reply; under LITERAL- a literal over 4,096 bytes waits
// for its "+" and runs alone.
func TestAppendPipelined(t *testing.T) {
	big := strings.Repeat("x", 5000)
	m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1 LITERAL- UIDPLUS] ready
C: $1 APPEND INBOX {3+}
C~ one\r\n
C: $2 APPEND INBOX {3+}
C~ two\r\n
S: $1 OK [APPENDUID 9 1] done
S: $2 OK [APPENDUID 9 2] done
C: $3 APPEND INBOX {5000}
S: + go
C~ `+big+`\r\n
S: $3 OK [APPENDUID 9 3] done
C: $4 NOOP
S: $4 OK done
`), nil)
	one, two := m.Append("INBOX", "", time.Time{}, []byte("one")), m.Append("INBOX", "", time.Time{}, []byte("two"))
	three, noop := m.Append("INBOX", "", time.Time{}, []byte(big)), m.Noop()
	for i, c := range []*Command{one, two, three} {
		v, uids, ok := wait(t, c).AppendUID()
		require.True(t, ok)
		assert.Equal(t, uint32(9), v)
		assert.Equal(t, NumSetOf(uint32(i+1)), uids)
	}
	wait(t, noop)
}

// TestUnsolicitedCallback: every response no command collects reaches
// Options.Unsolicited, in arrival order, before the callbacks of a command
// whose tagged reply came after it.
func TestUnsolicitedCallback(t *testing.T) {
	var mu sync.Mutex
	var events []string
	record := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, s)
	}
	done := make(chan struct{})
	m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1] ready
C: $1 NOOP
S: * 3 EXISTS
S: * 1 FETCH (FLAGS (\Seen))
S: * OK [ALERT] maintenance at noon
S: $1 OK done
`), &Options{Unsolicited: func(u Untagged) { record(u.Type + " " + textOf(u.Data)) }})
	m.Noop().OnDone(func(Result, error) { record("NOOP done"); close(done) })
	receive(t, done, "the NOOP's callback")
	assert.Equal(t, []string{"EXISTS 3", "FETCH 1 (FLAGS (\\Seen))", "OK [ALERT] maintenance at noon", "NOOP done"}, events)
	assert.Equal(t, []string{"3"}, texts(m.Response("EXISTS").Data), "still stored for Response")
}

// TestSelectedCounts: Selected follows EXPUNGE and EXISTS whether a
// command collects them or not, and ends with the selection.
func TestSelectedCounts(t *testing.T) {
	m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1 UNSELECT] ready
C: $1 EXAMINE Archive
S: * 5 EXISTS
S: * OK [UIDVALIDITY 42] ok
S: $1 OK [READ-ONLY] done
C: $2 NOOP
S: * 2 EXPUNGE
S: * 6 EXISTS
S: $2 OK done
C: $3 UNSELECT
S: $3 OK done
`), nil)
	_, ok := m.Selected()
	assert.False(t, ok)
	wait(t, m.Examine("Archive"))
	sel, ok := m.Selected()
	require.True(t, ok)
	assert.Equal(t, SelectedMailbox{Name: "Archive", ReadOnly: true, Exists: 5, UIDValidity: 42}, sel)
	wait(t, m.Noop())
	sel, _ = m.Selected()
	assert.Equal(t, uint32(6), sel.Exists)
	wait(t, m.Unselect())
	assert.Equal(t, AUTH, m.State())
	_, ok = m.Selected()
	assert.False(t, ok)
}

// TestListWithStatus: the wire form of LIST-EXTENDED and LIST-STATUS, and
// blank lines between responses, as some servers and proxies send them,
// are skipped.
func TestListWithStatus(t *testing.T) {
	m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1 LIST-EXTENDED LIST-STATUS SPECIAL-USE NOTIFY] ready
C: $1 LIST (SPECIAL-USE) "" "*" RETURN (CHILDREN STATUS (MESSAGES UNSEEN))
S: * LIST (\Sent \HasNoChildren) "/" Sent
S: 
S: * STATUS Sent (MESSAGES 12 UNSEEN 0)
S: * LIST (\Trash \HasNoChildren) "/" {5}
S~ Trash\r\n\r\n
S: * STATUS Trash (MESSAGES 3 UNSEEN 1)
S: $1 OK done
C: $2 NOTIFY SET (SELECTED (MessageNew MessageExpunge)) (PERSONAL (MessageNew))
S: $2 OK done
`), nil)
	res := wait(t, m.ListWith(`""`, "*", ListOptions{SelectSpecialUse: true, ReturnChildren: true, ReturnStatus: []string{"MESSAGES", "UNSEEN"}}))
	mbs, err := res.Mailboxes()
	require.NoError(t, err)
	require.Len(t, mbs, 2)
	assert.True(t, mbs[0].Has(`\Sent`))
	assert.Equal(t, &MailboxStatus{Mailbox: "Sent", Messages: 12}, mbs[0].Status)
	assert.Equal(t, "Trash", mbs[1].Name)
	assert.Equal(t, &MailboxStatus{Mailbox: "Trash", Messages: 3, Unseen: 1}, mbs[1].Status)
	wait(t, m.Notify("SET (SELECTED (MessageNew MessageExpunge)) (PERSONAL (MessageNew))"))
}

func TestNotifyNotOffered(t *testing.T) {
	m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1] ready
C: $1 NOOP
S: $1 OK done
`), nil)
	err := waitFails(t, m.Notify("NONE"))
	assert.Contains(t, err.Error(), "server does not support NOTIFY")
	wait(t, m.Noop())
}

// TestMailboxArgumentRule: mailbox arguments accept the names Mailboxes
// returns: a name already in modified UTF-7 goes as it is, any other is
// encoded ("R&D" is not modified UTF-7, "Entwürfe" is not ASCII).
func TestMailboxArgumentRule(t *testing.T) {
	m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1] ready
C: $1 CREATE R&-D
S: $1 OK done
C: $2 CREATE Entw&APw-rfe
S: $2 OK done
C: $3 CREATE Entw&APw-rfe
S: $3 OK done
C: $4 STATUS R&-D (MESSAGES)
S: * STATUS R&-D (MESSAGES 2)
S: $4 OK done
`), nil)
	wait(t, m.Create("R&D"))
	wait(t, m.Create("Entwürfe"))
	wait(t, m.Create("Entw&APw-rfe"))
	st, err := wait(t, m.Status("R&D", "(MESSAGES)")).MailboxStatus()
	require.NoError(t, err)
	assert.Equal(t, MailboxStatus{Mailbox: "R&D", Messages: 2}, st)
}

// TestAppendAfterEnableUTF8: an APPEND issued before ENABLE UTF8=ACCEPT
// completed goes as the mode in force when it is sent: a literal8 in
// UTF8 (...), RFC 6855.
func TestAppendAfterEnableUTF8(t *testing.T) {
	m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1 ENABLE UTF8=ACCEPT LITERAL+] ready
C: $1 ENABLE UTF8=ACCEPT
S: * ENABLED UTF8=ACCEPT
S: $1 OK enabled
C: $2 APPEND INBOX UTF8 (~{7+}
C~ Gr\xc3\xbc\xc3\x9fe)\r\n
S: $2 OK done
`), nil)
	enable, appended := m.Enable("UTF8=ACCEPT"), m.Append("INBOX", "", time.Time{}, []byte("Grüße"))
	wait(t, enable)
	wait(t, appended)
}

// TestHighestModSeqFollowsModSeqItem: under CONDSTORE, Selected follows the
// MODSEQ item of FETCH responses, and never text that looks like one inside
// a value (a subject anyone can send).
func TestHighestModSeqFollowsModSeqItem(t *testing.T) {
	m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1 CONDSTORE] ready
C: $1 SELECT INBOX
S: * 2 EXISTS
S: * OK [HIGHESTMODSEQ 100] ok
S: $1 OK [READ-WRITE] done
C: $2 NOOP
S: * 1 FETCH (ENVELOPE (NIL "MODSEQ (9000000000000000000)" NIL NIL NIL NIL NIL NIL NIL NIL) FLAGS (\Seen) MODSEQ (120))
S: * 2 FETCH (FLAGS () ENVELOPE (NIL "x MODSEQ (8000000000000000000)" NIL NIL NIL NIL NIL NIL NIL NIL))
S: $2 OK done
`), nil)
	wait(t, m.Select("INBOX", false))
	sel, _ := m.Selected()
	require.Equal(t, uint64(100), sel.HighestModSeq)
	wait(t, m.Noop())
	sel, _ = m.Selected()
	assert.Equal(t, uint64(120), sel.HighestModSeq)
}

// TestVanishedCounts: VANISHED lowers EXISTS by the UIDs it names, for
// ranges in either order; a range to "*" names no count, and ranges whose
// sizes add up beyond the UID space cannot wrap the count around.
func TestVanishedCounts(t *testing.T) {
	m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1 CONDSTORE QRESYNC] ready
C: $1 SELECT INBOX
S: * 10 EXISTS
S: $1 OK [READ-WRITE] done
C: $2 NOOP
S: * VANISHED 5:3
S: $2 OK done
C: $3 NOOP
S: * VANISHED 7:*
S: $3 OK done
C: $4 NOOP
S: * VANISHED 1:4294967294,1:3
S: $4 OK done
`), nil)
	wait(t, m.Select("INBOX", false))
	for _, want := range []uint32{7, 7, 0} {
		wait(t, m.Noop())
		sel, _ := m.Selected()
		assert.Equal(t, want, sel.Exists)
	}
}
