package imaplib2

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// resultOf reads raw server responses (untagged, CRLF or LF line ends,
// literals included) through the library's own framing and returns the
// Result a command collecting all of them would hold.
func resultOf(t testing.TB, raw string) Result {
	t.Helper()
	raw = strings.ReplaceAll(strings.ReplaceAll(raw, "\r\n", "\n"), "\n", "\r\n") + "\r\n"
	rr := newResponseReader(strings.NewReader(raw), DefaultMaxLineSize, DefaultMaxLiteralSize)
	var res Result
	for {
		r, err := rr.read()
		if err != nil {
			break
		}
		require.Equal(t, untaggedResponse, r.kind, "test data must be untagged responses")
		res.Data = append(res.Data, r.data...)
	}
	require.NotEmpty(t, res.Data, "no response in %q", raw)
	return res
}

// messagesOf parses raw FETCH responses into Messages.
func messagesOf(t testing.TB, raw string) []Message {
	t.Helper()
	msgs, err := resultOf(t, raw).Messages()
	require.NoError(t, err)
	return msgs
}

func TestMessagesRFC3501Example(t *testing.T) {
	msgs := messagesOf(t, `* 12 FETCH (FLAGS (\Seen) INTERNALDATE "17-Jul-1996 02:44:25 -0700" RFC822.SIZE 4286 ENVELOPE ("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" (("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" "cac.washington.edu")) ((NIL NIL "minutes" "CNRI.Reston.VA.US") ("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL "<B27397-0100000@cac.washington.edu>") BODY ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92))`)
	require.Len(t, msgs, 1)
	m := msgs[0]
	assert.Equal(t, uint32(12), m.SeqNum)
	assert.Equal(t, []string{`\Seen`}, m.Flags)
	assert.True(t, time.Date(1996, 7, 17, 9, 44, 25, 0, time.UTC).Equal(m.InternalDate), m.InternalDate)
	assert.Equal(t, int64(4286), m.Size)
	env := m.Envelope
	require.NotNil(t, env)
	assert.True(t, time.Date(1996, 7, 17, 9, 23, 25, 0, time.UTC).Equal(env.Date), env.Date)
	assert.Equal(t, "IMAP4rev1 WG mtg summary and minutes", env.Subject)
	gray := []Address{{Name: "Terry Gray", Mailbox: "gray", Host: "cac.washington.edu"}}
	assert.Equal(t, gray, env.From)
	assert.Equal(t, gray, env.Sender)
	assert.Equal(t, gray, env.ReplyTo)
	assert.Equal(t, []Address{{Mailbox: "imap", Host: "cac.washington.edu"}}, env.To)
	assert.Equal(t, []string{"minutes@CNRI.Reston.VA.US", "KLENSIN@MIT.EDU"}, []string{env.Cc[0].Addr(), env.Cc[1].Addr()})
	assert.Nil(t, env.Bcc)
	assert.Equal(t, "", env.InReplyTo)
	assert.Equal(t, "<B27397-0100000@cac.washington.edu>", env.MessageID)
	assert.Equal(t, &BodyStructure{MediaType: "text/plain", Params: map[string]string{"charset": "US-ASCII"}, Encoding: "7bit", Size: 3028, Lines: 92}, m.BodyStructure)
}

func TestMessagesServerForms(t *testing.T) {
	t.Run("Cyrus: FLAGS before UID, space-padded date", func(t *testing.T) {
		m := messagesOf(t, `* 1 FETCH (FLAGS (\Seen $Junk) UID 4 INTERNALDATE " 3-Mar-2024 10:00:00 +0000" MODSEQ (12345678901))`)[0]
		assert.Equal(t, uint32(4), m.UID)
		assert.Equal(t, []string{`\Seen`, "$Junk"}, m.Flags)
		assert.True(t, time.Date(2024, 3, 3, 10, 0, 0, 0, time.UTC).Equal(m.InternalDate))
		assert.Equal(t, uint64(12345678901), m.ModSeq)
	})
	t.Run("Courier: quoted field names, separate FLAGS response", func(t *testing.T) {
		msgs := messagesOf(t, "* 1 FETCH (UID 9 BODY[HEADER.FIELDS (\"SUBJECT\" \"FROM\")] {13}\nSubject: hi\r\n)\n* 1 FETCH (FLAGS (\\Seen))")
		require.Len(t, msgs, 1, "responses for one message are merged")
		m := msgs[0]
		assert.Equal(t, uint32(9), m.UID)
		assert.Equal(t, []string{`\Seen`}, m.Flags)
		assert.Equal(t, "Subject: hi\r\n", string(m.Body("BODY.PEEK[HEADER.FIELDS (Subject From)]")))
		assert.Equal(t, "Subject: hi\r\n", string(m.Body(`body[header.fields ("subject"   "from")]`)))
		assert.Equal(t, "Subject: hi\r\n", string(m.Body("BODY[HEADER.FIELDS(SUBJECT FROM)]")), "no space before the list")
		assert.Nil(t, m.Body("BODY[HEADER.FIELDS (SUBJECT)]"), "other fields")
	})
	t.Run("Gmail extensions", func(t *testing.T) {
		m := messagesOf(t, `* 1 FETCH (X-GM-THRID 1278455344230334865 X-GM-MSGID 1278455344230334866 X-GM-LABELS (\Inbox \Sent Important "Muy Importante" "Entw&APw-rfe") UID 1)`)[0]
		assert.Equal(t, uint64(1278455344230334865), m.GmailThreadID)
		assert.Equal(t, uint64(1278455344230334866), m.GmailMsgID)
		assert.Equal(t, []string{`\Inbox`, `\Sent`, "Important", "Muy Importante", "Entwürfe"}, m.GmailLabels)
	})
	t.Run("RFC 8474 object IDs", func(t *testing.T) {
		msgs := messagesOf(t, "* 1 FETCH (EMAILID (M6d99ac3275bb4e) THREADID (T64b478a75b7ea9) UID 3)\n* 2 FETCH (EMAILID (M5fdc09b49ea703) THREADID NIL UID 4)")
		require.Len(t, msgs, 2)
		assert.Equal(t, "M6d99ac3275bb4e", msgs[0].EmailID)
		assert.Equal(t, "T64b478a75b7ea9", msgs[0].ThreadID)
		assert.Equal(t, "", msgs[1].ThreadID)
	})
	t.Run("extra spaces before \")\" (imap.qq.com, yahoo.co.jp)", func(t *testing.T) {
		msgs := messagesOf(t, `* 11487 FETCH (UID 19436 )
* 2 FETCH ( UID 8 RFC822.SIZE 5799845  FLAGS (\Seen ) )
* 3 FETCH (UID 9 BODYSTRUCTURE ("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 100 5 NIL NIL NIL ))
* 4 FETCH (UID 10 BODYSTRUCTURE (("text" "plain" NIL NIL NIL "7bit" 1 1 ) "alternative" ("boundary" "b") NIL NIL ))`)
		require.Len(t, msgs, 4)
		assert.Equal(t, uint32(19436), msgs[0].UID)
		assert.Equal(t, int64(5799845), msgs[1].Size)
		assert.Equal(t, []string{`\Seen`}, msgs[1].Flags)
		assert.Equal(t, "text/plain", msgs[2].BodyStructure.MediaType)
		assert.Equal(t, uint32(100), msgs[2].BodyStructure.Size)
		assert.Equal(t, "multipart/alternative", msgs[3].BodyStructure.MediaType)
		assert.Equal(t, "b", msgs[3].BodyStructure.Params["boundary"])
	})
	t.Run("sections: partial, NIL, empty, RFC822", func(t *testing.T) {
		m := messagesOf(t, "* 3 FETCH (BODY[]<0> {4}\nabcd BODY[1] NIL BODY[2] \"\" RFC822.HEADER {0}\n FLAGS ())")[0]
		assert.Equal(t, []byte("abcd"), m.Body("BODY.PEEK[]<0.2048>"))
		assert.Nil(t, m.Body("BODY[]"), "a request without a partial never matches a partial answer")
		assert.Nil(t, m.Body("BODY[1]"))
		assert.NotNil(t, m.Body("BODY[2]"))
		assert.Empty(t, m.Body("BODY[2]"))
		assert.NotNil(t, m.Body("RFC822.HEADER"))
		assert.Equal(t, []string{}, m.Flags, "FLAGS () is empty and non-nil")
		assert.Len(t, m.Sections, 4)
	})
}

// TestBodyStructureWalk: part specifiers of RFC 3501 §6.4.5 on a multipart
// with a nested alternative and an attached multipart message.
func TestBodyStructureWalk(t *testing.T) {
	m := messagesOf(t, `* 1 FETCH (BODYSTRUCTURE (`+
		`(("TEXT" "PLAIN" ("CHARSET" "UTF-8") NIL NIL "QUOTED-PRINTABLE" 120 4 NIL NIL NIL NIL)`+
		`("TEXT" "HTML" ("CHARSET" "UTF-8") NIL NIL "7BIT" 300 8 NIL NIL NIL NIL) "ALTERNATIVE" ("BOUNDARY" "b2") NIL NIL NIL)`+
		`("IMAGE" "PNG" ("NAME" "dot.png") "<id1>" "a dot" "BASE64" 96 NIL ("INLINE" ("FILENAME" "dot.png")) NIL NIL)`+
		`("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 900 (NIL "inner" (("A" NIL "a" "x.org")) NIL NIL NIL NIL NIL NIL NIL) `+
		`(("TEXT" "PLAIN" NIL NIL NIL "7BIT" 10 1 NIL NIL NIL NIL)("APPLICATION" "PDF" ("NAME" "r.pdf") NIL NIL "BASE64" 500 NIL ("ATTACHMENT" ("FILENAME" "report.pdf")) ("EN" "DE") "loc") "MIXED" ("BOUNDARY" "b3") NIL NIL NIL) 20 NIL NIL NIL NIL)`+
		` "MIXED" ("BOUNDARY" "b1") NIL ("EN") NIL))`)[0]
	var got []string
	m.BodyStructure.Walk(func(path string, part *BodyStructure) bool {
		got = append(got, path+"="+part.MediaType)
		return true
	})
	assert.Equal(t, []string{
		"=multipart/mixed",
		"1=multipart/alternative", "1.1=text/plain", "1.2=text/html",
		"2=image/png",
		"3=message/rfc822", "3=multipart/mixed", "3.1=text/plain", "3.2=application/pdf",
	}, got)
	b := m.BodyStructure
	assert.Equal(t, []string{"EN"}, b.Language)
	png := b.Parts[1]
	assert.Equal(t, "dot.png", png.Filename())
	assert.Equal(t, "inline", png.Disposition)
	assert.Equal(t, "a dot", png.Description)
	assert.Equal(t, "<id1>", png.ID)
	msg := b.Parts[2]
	assert.Equal(t, "inner", msg.Envelope.Subject)
	assert.Equal(t, uint32(20), msg.Lines)
	pdf := msg.Parts[0].Parts[1]
	assert.Equal(t, "report.pdf", pdf.Filename(), "the disposition's filename wins over the name")
	assert.Equal(t, []string{"EN", "DE"}, pdf.Language)
	assert.Equal(t, "loc", pdf.Location)

	got = nil
	b.Walk(func(path string, part *BodyStructure) bool {
		got = append(got, path)
		return path != "1" && path != "3"
	})
	assert.Equal(t, []string{"", "1", "2", "3"}, got, "false skips the children")

	single := messagesOf(t, `* 2 FETCH (BODY ("TEXT" "PLAIN" NIL NIL NIL "7BIT" 5 1))`)[0].BodyStructure
	got = nil
	single.Walk(func(path string, _ *BodyStructure) bool { got = append(got, path); return true })
	assert.Equal(t, []string{"1"}, got, "a message that is not multipart is part 1")
}

func TestBodyStructureDefaultsAndGroups(t *testing.T) {
	m := messagesOf(t, `* 1 FETCH (BODYSTRUCTURE (NIL NIL NIL NIL NIL "7BIT" 3 1) ENVELOPE (NIL NIL NIL NIL NIL ((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) ((NIL NIL "team" NIL)("Ann" NIL "ann" "x.org")(NIL NIL NIL NIL)("" NIL "local" "")) NIL NIL NIL))`)[0]
	assert.Equal(t, "text/plain", m.BodyStructure.MediaType, "NIL type/subtype is RFC 2045's default")
	assert.Empty(t, m.Envelope.To, "an empty group leaves no address")
	assert.Equal(t, []Address{{Name: "Ann", Mailbox: "ann", Host: "x.org"}, {Mailbox: "local"}}, m.Envelope.Cc)
	assert.Equal(t, "local", m.Envelope.Cc[1].Addr())
	assert.True(t, m.Envelope.Date.IsZero())
}

func TestMessagesMalformed(t *testing.T) {
	for _, tt := range []struct{ name, raw, want string }{
		{"no list", "* 1 FETCH UID 4", `want '('`},
		{"bad UID", "* 1 FETCH (UID x)", "UID"},
		{"unterminated", "* 1 FETCH (UID 4", `want a space or ")"`},
		{"short envelope", `* 1 FETCH (ENVELOPE (NIL "s"))`, "ENVELOPE with 2 fields"},
		{"bad date", `* 1 FETCH (INTERNALDATE "yesterday")`, "INTERNALDATE"},
		{"deep body", "* 1 FETCH (BODYSTRUCTURE " + strings.Repeat("(", 200) + ")", "nested deeper"},
		{"deep list", "* 1 FETCH (X-FOO " + strings.Repeat("(", 200) + ")", "nested deeper"},
		{"odd params", `* 1 FETCH (BODY ("TEXT" "PLAIN" ("CHARSET") NIL NIL "7BIT" 1 1))`, "without a value"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := resultOf(t, tt.raw).Messages()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestParseMessageDoesNotAlias(t *testing.T) {
	data := []Datum{{Text: "1 (BODY[] {5}", Literal: []byte("hello")}, {Text: ")"}}
	m, err := ParseMessage(data)
	require.NoError(t, err)
	copy(data[0].Literal, "XXXXX")
	assert.Equal(t, "hello", string(m.Body("BODY[]")), "FetchFunc reuses its buffer")
	_, err = ParseMessage([]Datum{{Text: "1 (UID 2) junk"}})
	assert.Error(t, err)
}

func TestMailboxes(t *testing.T) {
	res := resultOf(t, "* LIST (\\HasNoChildren) \"/\" INBOX\n"+
		"* LIST (\\HasChildren \\Noselect) NIL \"Entw&APw-rfe\"\n"+
		"* LIST (\\Sent \\HasNoChildren) \"/\" {12}\nSent \"Items\"\n"+
		"* LIST () \".\" \"R&-D\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\n"+
		"* STATUS INBOX (MESSAGES 17 UNSEEN 2 UIDNEXT 40 UIDVALIDITY 7 HIGHESTMODSEQ 90000000000 SIZE 123456)")
	mbs, err := res.Mailboxes()
	require.NoError(t, err)
	require.Len(t, mbs, 4)
	assert.Equal(t, "INBOX", mbs[0].Name)
	assert.Equal(t, &MailboxStatus{Mailbox: "INBOX", Messages: 17, Unseen: 2, UIDNext: 40, UIDValidity: 7, HighestModSeq: 90000000000, Size: 123456}, mbs[0].Status)
	assert.Equal(t, "Entwürfe", mbs[1].Name)
	assert.Equal(t, "", mbs[1].Delimiter)
	assert.True(t, mbs[1].Has(`\NOSELECT`))
	assert.Equal(t, `Sent "Items"`, mbs[2].Name)
	assert.True(t, mbs[2].Has(`\Sent`))
	assert.Equal(t, "R&D", mbs[3].Name)
	assert.Equal(t, []string{}, mbs[3].Attributes)
	assert.Nil(t, mbs[3].Status)

	st, err := resultOf(t, `* STATUS "Sent Items" (MESSAGES 3 RECENT 1 DELETED 2)`).MailboxStatus()
	require.NoError(t, err)
	assert.Equal(t, MailboxStatus{Mailbox: "Sent Items", Messages: 3, Recent: 1, Deleted: 2}, st)

	st, err = resultOf(t, `* STATUS Drafts (MAILBOXID (F2212ea87-6097-4256-9d51-71338625) MESSAGES 4 X-UNKNOWN "x")`).MailboxStatus()
	require.NoError(t, err, "items that are not numbers (RFC 8474 MAILBOXID) are skipped")
	assert.Equal(t, MailboxStatus{Mailbox: "Drafts", Messages: 4}, st)
	_, err = resultOf(t, `* STATUS Drafts (MESSAGES 4294967296)`).MailboxStatus()
	assert.Error(t, err, "a count beyond 32 bits is refused, not cut")

	_, err = resultOf(t, "* LIST (\\Noselect \"/\" x").Mailboxes()
	assert.Error(t, err)

	mbs, err = resultOf(t, "* LIST () \"/\" INBOX\n* LIST () \"/\" Sent\n* STATUS Sent (MESSAGES x)").Mailboxes()
	assert.Error(t, err)
	assert.Len(t, mbs, 2, "the mailboxes read before a malformed STATUS are kept")
}

func TestResultCode(t *testing.T) {
	r := Result{Text: "[COPYUID 38505 304,319:320 3956:3958] Done"}
	name, args := r.Code()
	assert.Equal(t, "COPYUID", name)
	assert.Equal(t, "38505 304,319:320 3956:3958", args)
	name, args = Result{Text: "[read-only] ok"}.Code()
	assert.Equal(t, []string{"READ-ONLY", ""}, []string{name, args})
	name, _ = Result{Text: "no code"}.Code()
	assert.Equal(t, "", name)
}

func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{
		`12 (FLAGS (\Seen) INTERNALDATE "17-Jul-1996 02:44:25 -0700" RFC822.SIZE 4286 ENVELOPE ("d" "s" (("n" NIL "m" "h")) NIL NIL NIL NIL NIL NIL "<x>") BODY ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92))`,
		`1 (BODYSTRUCTURE ((("TEXT" "PLAIN" NIL NIL NIL "7BIT" 1 1)("TEXT" "HTML" NIL NIL NIL "7BIT" 1 1) "ALTERNATIVE") ("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 9 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ("TEXT" "PLAIN" NIL NIL NIL "7BIT" 1 1) 2) "MIXED"))`,
		`1 (X-GM-LABELS (\Inbox "a b") EMAILID (M1) THREADID NIL MODSEQ (5) UID 3)`,
	} {
		f.Add(s, "")
	}
	f.Add("1 (BODY[] {5}", "hello")
	f.Fuzz(func(t *testing.T, text, literal string) {
		data := []Datum{{Text: text}}
		if n, ok := literalSize(text); ok && int64(len(literal)) == n {
			data = []Datum{{Text: text, Literal: []byte(literal)}, {Text: ")"}}
		}
		ParseMessage(data)            // must not panic
		Result{Data: data}.Messages() // nor this
	})
}

func FuzzMailboxes(f *testing.F) {
	for _, s := range []string{`(\HasNoChildren) "/" INBOX`, `() NIL "Entw&APw-rfe" ("CHILDINFO" ("SUBSCRIBED"))`, `INBOX (MESSAGES 1 UIDNEXT 2)`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		Result{Data: []Datum{{Text: text}}}.Mailboxes() // must not panic
		Result{Data: []Datum{{Text: text}}}.MailboxStatus()
	})
}

// TestUIDPlusCodes: RFC 4315's codes with ranges, and MOVE's COPYUID from
// its untagged OK (RFC 6851) over a real socket.
func TestUIDPlusCodes(t *testing.T) {
	v, uids, ok := Result{Text: "[APPENDUID 38505 3955] APPEND completed"}.AppendUID()
	assert.True(t, ok)
	assert.Equal(t, uint32(38505), v)
	assert.Equal(t, NumSet{{3955, 3955}}, uids)
	_, uids, ok = Result{Text: "[APPENDUID 38505 3955:3957,3960] done"}.AppendUID()
	assert.True(t, ok)
	assert.Equal(t, "3955:3957,3960", uids.String())
	v, src, dst, ok := Result{Text: "[COPYUID 38505 304,319:320 3956:3958] Done"}.CopyUID()
	assert.True(t, ok)
	assert.Equal(t, uint32(38505), v)
	assert.Equal(t, "304,319:320", src.String())
	assert.Equal(t, "3956:3958", dst.String())
	for _, bad := range []string{"Done", "[COPYUID 1 2:*] x", "[APPENDUID x 1] y", "[COPYUID 1 2] z", "[COPYUID 1 2 3 4] z"} {
		_, _, _, ok := Result{Text: bad}.CopyUID()
		assert.False(t, ok, bad)
		_, _, ok = Result{Text: bad}.AppendUID()
		assert.False(t, ok, bad)
	}

	m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1 MOVE UIDPLUS] ready
C: $1 SELECT INBOX
S: * 3 EXISTS
S: $1 OK [READ-WRITE] done
C: $2 UID MOVE 42:43 Archive
S: * OK [COPYUID 432432 42:43 1202:1203] Moved UIDs.
S: * 2 EXPUNGE
S: * 2 EXPUNGE
S: $2 OK Move completed
C: $3 MOVE 1 Archive
S: * OK [COPYUID 432432 7 1204]
S: * 1 EXPUNGE
S: $3 OK Move completed
`), nil)
	wait(t, m.Select("INBOX", false))
	res := wait(t, m.UID("MOVE", "42:43", "Archive"))
	assert.Equal(t, []string{"2", "2"}, texts(res.Data), "MOVE collects its EXPUNGEs")
	assert.Equal(t, "Move completed", res.Text)
	v, src, dst, ok = res.CopyUID()
	require.True(t, ok, "MOVE keeps the COPYUID of its untagged OK")
	assert.Equal(t, []string{"432432", "42:43", "1202:1203"}, []string{strconv.Itoa(int(v)), src.String(), dst.String()})
	nums, err := res.Nums()
	require.NoError(t, err)
	assert.Equal(t, []uint32{2, 2}, nums)
	res = wait(t, m.Move("1", "Archive"))
	_, src, dst, ok = res.CopyUID()
	require.True(t, ok)
	assert.Equal(t, []string{"7", "1204"}, []string{src.String(), dst.String()})
}
