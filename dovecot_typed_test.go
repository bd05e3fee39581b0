package imaplib2

// The typed FETCH oracle: a corpus of MIME messages, made by the test from
// a fixed seed, goes into Dovecot; FETCH brings back its ENVELOPE,
// BODYSTRUCTURE and bodies; and every field of every Message that the
// library's parsers make of that is compared with what the standard
// library (net/mail, mime, mime/multipart) and golang.org/x/text make of
// the same bytes, parsed independently: the raw message is the truth, and
// Dovecot and the parsers together must agree with it.

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"
)

// oracleMessages is the size of the corpus.
const oracleMessages = 64

// dovecotTestTypedOracle appends the corpus, fetches it whole, then each
// part that BodyStructure.Walk names (pipelined), and compares.
func dovecotTestTypedOracle(t *testing.T, d *dovecotServer) {
	corpus := oracleCorpus(t)
	m, _, _ := dovecotLogin(t, d)

	appends := make([]*Command, len(corpus))
	for i, om := range corpus { // issued at once; under LITERAL+ they pipeline
		appends[i] = m.Append("INBOX", strings.Join(om.flags, " "), om.date, om.raw)
	}
	for _, c := range appends {
		waitOK(t, c)
	}
	var appendUIDs []uint32
	for _, code := range m.Response("APPENDUID").Data {
		_, uid, _ := strings.Cut(code.Text, " ")
		n, err := strconv.ParseUint(uid, 10, 32)
		require.NoError(t, err, "APPENDUID %q", code.Text)
		appendUIDs = append(appendUIDs, uint32(n))
	}
	require.Len(t, appendUIDs, len(corpus), "one APPENDUID per APPEND")
	waitOK(t, m.Select("INBOX", false))

	res := waitOK(t, m.Fetch("1:*", "(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY.PEEK[])"))
	require.True(t, slices.ContainsFunc(res.Data, func(d Datum) bool {
		return d.IsLiteral() && !strings.HasSuffix(d.Text, fmt.Sprintf("BODY[] {%d}", len(d.Literal)))
	}), "the corpus makes Dovecot send a literal inside an ENVELOPE or BODYSTRUCTURE")
	msgs, err := res.Messages()
	require.NoError(t, err)
	require.Len(t, msgs, len(corpus))

	c := &oracleChecker{}
	var sections []oracleFetch
	for i, msg := range msgs {
		w := oracleWhere{seq: uint32(i + 1)}
		raw := corpus[i].raw // CRLF throughout: what Append sends
		c.check(w, "SeqNum", msg.SeqNum, w.seq)
		c.check(w, "UID", msg.UID, appendUIDs[i])
		if i > 0 {
			c.check(w, "UID increases", msg.UID > msgs[i-1].UID, true)
		}
		c.check(w, "Flags returned", msg.Flags != nil, true)
		c.check(w, "Flags", oracleSorted(withoutRecent(msg.Flags)), oracleSorted(corpus[i].flags))
		c.check(w, "InternalDate", oracleTime(msg.InternalDate), oracleTime(corpus[i].date))
		c.check(w, "Size (RFC822.SIZE)", msg.Size, int64(len(raw)))
		if c.check(w, "len(Sections)", len(msg.Sections), 1) {
			c.check(w, "Sections[0].Name", msg.Sections[0].Name, "BODY[]")
		}
		c.bytes(w, "BODY[]", msg.Body("BODY[]"), raw)
		c.check(w, "items not fetched", []any{msg.ModSeq, msg.EmailID, msg.ThreadID, msg.GmailMsgID, msg.GmailThreadID, msg.GmailLabels},
			[]any{uint64(0), "", "", uint64(0), uint64(0), []string(nil)})

		top, err := mail.ReadMessage(bytes.NewReader(raw))
		require.NoError(t, err, "message %d", w.seq)
		body, err := io.ReadAll(top.Body)
		require.NoError(t, err)
		header := textproto.MIMEHeader(top.Header)
		c.envelope(w, "Envelope.", msg.Envelope, header)
		root := oracleParse(t, header, body)
		if c.check(w, "BodyStructure returned", msg.BodyStructure != nil, true) {
			sections = append(sections, c.bodyStructure(m, msg, root, raw)...)
		}
	}
	// Pipelined FETCHes of one message share its number, and a FETCH
	// response names no command: the oldest pending FETCH of the message
	// collects what arrives before it completes, the answers to the later
	// ones included. So the sections of a message are looked up in all the
	// results together.
	fetched := map[uint32][]Section{}
	for _, f := range sections { // all issued: now their results
		got, err := waitOK(t, f.cmd).Messages()
		require.NoError(t, err, "FETCH %d %s", f.where.seq, f.item)
		for _, msg := range got {
			fetched[msg.SeqNum] = append(fetched[msg.SeqNum], msg.Sections...)
		}
	}
	for _, f := range sections {
		c.bytes(f.where, f.item, Message{Sections: fetched[f.where.seq]}.Body(f.item), f.want)
	}
	c.report(t, len(msgs))
	dovecotLogout(t, m)
}

// ---------------------------------------------------------------------------
// The corpus

// oracleMail is one message of the corpus, with what it is appended with.
type oracleMail struct {
	raw   []byte
	flags []string
	date  time.Time
}

// oracleCharset is a charset of the corpus's encoded-words: its name, the
// encoder that makes its bytes, and a text it can encode.
type oracleCharset struct {
	name string
	enc  encoding.Encoding
	text string
}

var oracleCharsets = []oracleCharset{
	{"ISO-8859-1", charmap.ISO8859_1, "Grüße aus Köln, déjà vu"},
	{"ISO-8859-2", charmap.ISO8859_2, "Zażółć gęślą jaźń"},
	{"ISO-8859-15", charmap.ISO8859_15, "Prix : 20 € pour l'œuvre"},
	{"Windows-1251", charmap.Windows1251, "Привет, мир! Отчёт"},
	{"Windows-1252", charmap.Windows1252, "“Smart” quotes – €5 • naïve"},
	{"KOI8-R", charmap.KOI8R, "Съешь же ещё этих мягких булок"},
	{"Shift_JIS", japanese.ShiftJIS, "日本語の件名テスト"},
	{"EUC-JP", japanese.EUCJP, "こんにちは、世界"},
	{"ISO-2022-JP", japanese.ISO2022JP, "会議の議事録です"},
	{"GB2312", simplifiedchinese.GBK, "你好，世界"},
	{"GBK", simplifiedchinese.GBK, "中文邮件主题测试"},
	{"Big5", traditionalchinese.Big5, "繁體中文測試"},
	{"EUC-KR", korean.EUCKR, "안녕하세요 세계"},
	{"UTF-8", unicode.UTF8, "Ünïcødé ✓ 🚀 ÆØÅ"},
}

var (
	oracleVocabulary = strings.Fields("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu")
	oracleHosts      = []string{"example.org", "mail.example.com", "x.org", "y.example.net", "lists.example.edu"}
	oracleFlags      = []string{`\Seen`, `\Flagged`, `\Answered`, `\Draft`, "$Forwarded", "$Junk", "Custom1"}
)

// oracleFeatures are what the corpus must cover; the generator counts them.
var oracleFeatures = []string{
	"alternative in mixed", "attached multipart message", "attached text message", "message in a message",
	"inline image", "RFC 2231 filename", "RFC 2231 continuation", "RFC 2231 plain continuation",
	"RFC 2231 name", "RFC 2047 filename", "name parameter only", "preamble and epilogue",
	"part without Content-Type", "no Content-Type", "quoted-printable", "base64 text",
	"group", "empty group", "group in a list", "quoted display name", "8-bit display name",
	"subject with a double quote", "8-bit subject", "no subject", "empty subject", "folded subject",
	"8-bit filename", "escaped filename", "empty part", "empty body", "upper-case type", "signed",
}

// oracleCorpus makes the corpus, the same at every run.
func oracleCorpus(t *testing.T) []oracleMail {
	g := &oracleGen{t: t, rnd: rand.New(rand.NewPCG(3501, 2047)), features: map[string]int{}}
	corpus := make([]oracleMail, oracleMessages)
	for i := range corpus {
		root := g.body(i%13, i)
		head := g.envelopeHeaders(i)
		if root.header != nil {
			head = append(head, "MIME-Version: 1.0")
		}
		root.header = append(head, root.header...)
		var flags []string
		for _, f := range oracleFlags {
			if g.rnd.IntN(3) == 0 {
				flags = append(flags, f)
			}
		}
		raw := root.bytes()
		bare := bytes.ReplaceAll(raw, []byte("\r\n"), nil)
		require.False(t, bytes.ContainsAny(bare, "\r\n"), "message %d has a bare CR or LF, which Append would change", i+1)
		corpus[i] = oracleMail{raw: raw, flags: flags, date: g.time()}
	}
	for _, f := range oracleFeatures {
		require.Positive(t, g.features[f], "the corpus covers %s", f)
	}
	for _, cs := range oracleCharsets {
		for _, enc := range []string{"B", "Q"} {
			require.Positive(t, g.features["subject "+cs.name+" "+enc], "the corpus has an encoded subject in %s, %s", cs.name, enc)
			require.Positive(t, g.features["name "+cs.name+" "+enc], "the corpus has an encoded name in %s, %s", cs.name, enc)
		}
	}
	return corpus
}

// oracleGen makes the corpus from its random source.
type oracleGen struct {
	t        *testing.T
	rnd      *rand.Rand
	features map[string]int // what the corpus covers, counted
	subjects int            // encoded subjects made so far: picks the next one's charset
}

func (g *oracleGen) note(feature string) { g.features[feature]++ }

func (g *oracleGen) pick(xs []string) string { return xs[g.rnd.IntN(len(xs))] }

// words returns n words of the vocabulary.
func (g *oracleGen) words(n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = g.pick(oracleVocabulary)
	}
	return strings.Join(w, " ")
}

// time returns a time between 1995 and 2020 (Dovecot takes an INTERNALDATE
// in the future for now), in a zone between -12:00 and +14:00, in whole
// seconds.
func (g *oracleGen) time() time.Time {
	zone := time.FixedZone("", (g.rnd.IntN(105)-48)*15*60)
	return time.Date(1995+g.rnd.IntN(26), time.Month(1+g.rnd.IntN(12)), 1+g.rnd.IntN(28),
		g.rnd.IntN(24), g.rnd.IntN(60), g.rnd.IntN(60), 0, zone)
}

// encodedWord returns text in cs as one RFC 2047 encoded-word, B or Q.
func (g *oracleGen) encodedWord(cs oracleCharset, text string, q bool) string {
	b, err := cs.enc.NewEncoder().Bytes([]byte(text))
	require.NoError(g.t, err, "%s cannot encode %q", cs.name, text)
	if !q {
		return "=?" + cs.name + "?B?" + base64.StdEncoding.EncodeToString(b) + "?="
	}
	var s strings.Builder
	for _, c := range b {
		switch {
		case c == ' ':
			s.WriteByte('_')
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("!*+-/", c) >= 0:
			s.WriteByte(c)
		default:
			fmt.Fprintf(&s, "=%02X", c)
		}
	}
	return "=?" + cs.name + "?Q?" + s.String() + "?="
}

// encoded returns cs's text as encoded-words of a few characters each,
// folded onto lines of their own; what says where it goes (for the
// features).
func (g *oracleGen) encoded(what string, cs oracleCharset, q bool) string {
	var words []string
	for runes := []rune(cs.text); len(runes) > 0; {
		n := min(len(runes), 6)
		words = append(words, g.encodedWord(cs, string(runes[:n]), q))
		runes = runes[n:]
	}
	g.note(fmt.Sprintf("%s %s %s", what, cs.name, map[bool]string{false: "B", true: "Q"}[q]))
	return strings.Join(words, "\r\n ")
}

// mailbox returns an addr-spec.
func (g *oracleGen) mailbox() string {
	return fmt.Sprintf("%s.%s%d@%s", g.pick(oracleVocabulary), g.pick(oracleVocabulary), g.rnd.IntN(100), g.pick(oracleHosts))
}

// address returns a mailbox with or without a display name, of one of the
// forms the corpus covers.
func (g *oracleGen) address() string {
	angle := " <" + g.mailbox() + ">"
	switch g.rnd.IntN(6) {
	case 0:
		return g.mailbox()
	case 1:
		return strings.ToUpper(g.words(1)[:1]) + g.words(1) + angle
	case 2:
		g.note("quoted display name")
		return `"Lee, Ann \"` + g.words(1) + `\""` + angle
	case 3:
		g.note("8-bit display name")
		return "Jürgen Groß" + angle
	}
	return g.encoded("name", oracleCharsets[g.rnd.IntN(len(oracleCharsets))], g.rnd.IntN(2) == 0) + angle
}

// addresses returns a list of n addresses.
func (g *oracleGen) addresses(n int) string {
	list := make([]string, n)
	for i := range list {
		list[i] = g.address()
	}
	return strings.Join(list, ", ")
}

// recipients returns a To (or Bcc) field's value: a list, or groups.
func (g *oracleGen) recipients(i int) string {
	switch i % 5 {
	case 0:
		g.note("empty group")
		return "undisclosed-recipients:;"
	case 1:
		g.note("group")
		return "Team: a@x.org, b@y.org;"
	case 2:
		g.note("group in a list")
		return g.address() + ", Friends: " + g.addresses(2) + ";, " + g.address()
	}
	return g.addresses(1 + g.rnd.IntN(3))
}

// date returns a Date field's value in one of the forms the corpus covers,
// unparseable ones included; "" for none.
func (g *oracleGen) date(i int) string {
	t := g.time()
	switch i % 7 {
	case 0:
		return t.Format(time.RFC1123Z)
	case 1:
		return t.Format("2 Jan 2006 15:04:05 -0700")
	case 2:
		return t.Format("Mon, 2 Jan 2006 15:04:05 -0700") + " (CET)"
	case 3:
		return t.Format("Mon, 02 Jan 2006 15:04 -0700")
	case 4:
		return ""
	case 5:
		return "not a date at all"
	}
	return t.UTC().Format("Mon, 02 Jan 2006 15:04:05") + " GMT"
}

// subject returns a Subject field's value, and false for no field.
func (g *oracleGen) subject(i int) (string, bool) {
	switch i % 8 {
	case 0, 1, 2, 3:
		n := len(oracleCharsets)
		w := g.encoded("subject", oracleCharsets[g.subjects%n], g.subjects/n%2 == 1)
		g.subjects++
		return [...]string{w, "Re: " + w, "[" + g.words(1) + "] " + w + " " + g.words(2), "Fwd: " + w + " (" + strconv.Itoa(i) + ")"}[i%8], true
	case 4:
		g.note("folded subject")
		return "Status report " + g.words(8) + "\r\n " + g.words(8), true
	case 5:
		g.note("subject with a double quote")
		return `Re: "` + g.words(2) + `" and a \ backslash`, true
	case 6:
		g.note("8-bit subject")
		return "Grüße, naïve café ✓ " + g.words(2), true
	case 7:
		if i%16 == 7 {
			g.note("no subject")
			return "", false
		}
	}
	g.note("empty subject")
	return "", true
}

// envelopeHeaders returns the header fields of message i that ENVELOPE
// holds, in an order of their own.
func (g *oracleGen) envelopeHeaders(i int) []string {
	n := len(oracleCharsets)
	h := []string{
		"From: " + g.encoded("name", oracleCharsets[i%n], i/n%2 == 1) + " <" + g.mailbox() + ">",
		"To: " + g.recipients(i),
		fmt.Sprintf("Message-ID: <%d.%08x@%s>", i, g.rnd.Uint32(), g.pick(oracleHosts)),
	}
	if date := g.date(i); date != "" {
		h = append(h, "Date: "+date)
	}
	if subject, ok := g.subject(i); ok {
		h = append(h, "Subject: "+subject)
	}
	optional := []func() string{
		func() string { return "Cc: " + g.addresses(1+g.rnd.IntN(3)) },
		func() string { return "Bcc: " + g.recipients(i+2) },
		func() string { return "Sender: " + g.address() },
		func() string { return "Reply-To: " + g.addresses(1+g.rnd.IntN(2)) },
		func() string { return fmt.Sprintf("In-Reply-To: <%08x@%s>", g.rnd.Uint32(), g.pick(oracleHosts)) },
	}
	for _, field := range optional {
		if g.rnd.IntN(3) == 0 {
			h = append(h, field())
		}
	}
	g.rnd.Shuffle(len(h), func(a, b int) { h[a], h[b] = h[b], h[a] })
	return h
}

// mimePart is a message or body part being made.
type mimePart struct {
	header             []string // "Name: value" lines; nil for none
	body               []byte   // encoded; a multipart's comes from its parts
	parts              []*mimePart
	boundary           string
	preamble, epilogue string
}

// bytes returns the part as sent: its header, an empty line, its body.
func (p *mimePart) bytes() []byte {
	var b bytes.Buffer
	for _, h := range p.header {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	if p.parts == nil {
		b.Write(p.body)
		return b.Bytes()
	}
	b.WriteString(p.preamble)
	for _, part := range p.parts {
		b.WriteString("--" + p.boundary + "\r\n")
		b.Write(part.bytes())
		b.WriteString("\r\n") // the CRLF before a delimiter is the delimiter's
	}
	b.WriteString("--" + p.boundary + "--\r\n" + p.epilogue)
	return b.Bytes()
}

// leaf returns a part that is not multipart, its content encoded by cte.
func leaf(contentType, cte string, content []byte, headers ...string) *mimePart {
	h := []string{"Content-Type: " + contentType}
	if cte != "" {
		h = append(h, "Content-Transfer-Encoding: "+cte)
	}
	switch cte {
	case "base64":
		s := base64.StdEncoding.EncodeToString(content)
		var b strings.Builder
		for ; len(s) > 76; s = s[76:] {
			b.WriteString(s[:76] + "\r\n")
		}
		content = []byte(b.String() + s + "\r\n")
	case "quoted-printable":
		var b bytes.Buffer
		w := quotedprintable.NewWriter(&b)
		w.Write(content)
		w.Close()
		content = b.Bytes()
	}
	return &mimePart{header: append(h, headers...), body: content}
}

// multipart returns a multipart of subtype with parts.
func (g *oracleGen) multipart(subtype string, parts ...*mimePart) *mimePart {
	boundary := fmt.Sprintf("=_%s_%08x", subtype, g.rnd.Uint32())
	return &mimePart{header: []string{"Content-Type: multipart/" + subtype + `; boundary="` + boundary + `"`}, boundary: boundary, parts: parts}
}

// content returns lines of text, some long (for quoted-printable's soft
// line breaks), some with non-ASCII words when nonASCII is set, ending
// with a line break or not.
func (g *oracleGen) content(lines int, nonASCII bool) string {
	l := make([]string, lines)
	for i := range l {
		l[i] = g.words(2 + g.rnd.IntN(6))
		if g.rnd.IntN(4) == 0 {
			l[i] += " " + g.words(20)
		}
		if nonASCII && i%2 == 0 {
			l[i] += " Grüße — naïve, 5 = 2+3 ✓"
		}
	}
	s := strings.Join(l, "\r\n")
	if g.rnd.IntN(2) == 0 {
		s += "\r\n"
	}
	return s
}

// text returns a text part of subtype in charset, encoded by cte.
func (g *oracleGen) text(subtype, charset, cte string, headers ...string) *mimePart {
	content := g.content(2+g.rnd.IntN(8), strings.EqualFold(charset, "utf-8"))
	if subtype == "html" {
		content = "<html><body><p>" + content + "</p></body></html>\r\n"
	}
	data := []byte(content)
	for _, cs := range oracleCharsets { // its own text, in its own bytes
		if strings.EqualFold(cs.name, charset) {
			var err error
			data, err = cs.enc.NewEncoder().Bytes([]byte(content + cs.text))
			require.NoError(g.t, err)
		}
	}
	return leaf("text/"+subtype+"; charset="+charset, cte, data, headers...)
}

// alternative returns a multipart/alternative of a text and an HTML part.
func (g *oracleGen) alternative() *mimePart {
	return g.multipart("alternative", g.text("plain", "utf-8", "quoted-printable"), g.text("html", "utf-8", "7bit"))
}

// data returns n random bytes: an attachment's content.
func (g *oracleGen) data(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.rnd.UintN(256))
	}
	return b
}

// attachment returns a base64 part of mediaType with the given
// Content-Disposition ("" for none) and further headers.
func (g *oracleGen) attachment(mediaType, disposition string, headers ...string) *mimePart {
	if disposition != "" {
		headers = append([]string{"Content-Disposition: " + disposition}, headers...)
	}
	return leaf(mediaType, "base64", g.data(40+g.rnd.IntN(900)), headers...)
}

// inlineImage returns an image for a multipart/related.
func (g *oracleGen) inlineImage(n int) *mimePart {
	g.note("inline image")
	name := fmt.Sprintf("img-%d.png", n)
	return g.attachment(`image/png; name="`+name+`"`, `inline; filename="`+name+`"`,
		fmt.Sprintf("Content-ID: <img%d.%08x@example.org>", n, g.rnd.Uint32()),
		"Content-Description: "+g.encodedWord(oracleCharsets[g.rnd.IntN(len(oracleCharsets))], "Bild "+strconv.Itoa(n), g.rnd.IntN(2) == 0))
}

// message returns a message/rfc822 part holding a message of inner's body
// with the envelope of message i.
func (g *oracleGen) message(i int, inner *mimePart, headers ...string) *mimePart {
	inner.header = append(append(g.envelopeHeaders(i), "MIME-Version: 1.0"), inner.header...)
	return &mimePart{header: append([]string{"Content-Type: message/rfc822"}, headers...), body: inner.bytes()}
}

// body returns the body (and its Content-* header fields) of a message of
// the given kind; i is the message's number.
func (g *oracleGen) body(kind, i int) *mimePart {
	switch kind {
	case 0:
		if i%24 == 0 {
			g.note("upper-case type")
			return leaf("TEXT/PLAIN; CHARSET=US-ASCII; Format=Flowed", "7BIT", []byte(g.content(3, false)))
		}
		return g.text("plain", "us-ascii", "7bit")
	case 1:
		g.note("no Content-Type")
		if i%24 == 1 {
			g.note("empty body")
			return &mimePart{body: []byte{}}
		}
		return &mimePart{body: []byte(g.content(4, false))}
	case 2:
		g.note("quoted-printable")
		return g.text("plain", "utf-8", "quoted-printable")
	case 3:
		g.note("base64 text")
		return g.text("plain", oracleCharsets[g.rnd.IntN(len(oracleCharsets))].name, "base64")
	case 4:
		return g.alternative()
	case 5:
		g.note("alternative in mixed")
		g.note("RFC 2231 filename")
		return g.multipart("mixed", g.alternative(), g.attachment("application/pdf", `attachment; filename*=UTF-8''%E2%82%AC%20rates.pdf`))
	case 6:
		g.note("attached multipart message")
		inner := g.multipart("mixed", g.alternative(), g.attachment("application/pdf", `attachment; filename="report.pdf"`))
		return g.multipart("mixed", g.text("plain", "us-ascii", "7bit"),
			g.message(1000+i, inner, "Content-Description: forwarded message", `Content-Disposition: attachment; filename="fwd.eml"`))
	case 7:
		g.note("RFC 2231 continuation")
		related := g.multipart("related", g.text("html", "utf-8", "quoted-printable"), g.inlineImage(1), g.inlineImage(2))
		return g.multipart("mixed", g.multipart("alternative", g.text("plain", "utf-8", "8bit"), related),
			g.attachment(`application/vnd.ms-excel; name="quarterly.xls"`,
				"attachment;\r\n\tfilename*0*=UTF-8''%E2%82%AC%20quarterly%20;\r\n\tfilename*1*=rates%20%C3%BCber%20;\r\n\tfilename*2=\"2024.xls\""))
	case 8:
		return g.oddAttachments()
	case 9:
		g.note("attached text message")
		return g.multipart("mixed", g.text("plain", "iso-8859-1", "quoted-printable"),
			g.message(2000+i, g.text("plain", "us-ascii", "7bit"), `Content-Disposition: inline`))
	case 10:
		g.note("message in a message")
		b64 := g.text("plain", "KOI8-R", "base64")
		inner := g.multipart("mixed", g.text("plain", "us-ascii", "7bit"), g.message(3000+i, b64))
		return g.multipart("mixed", g.message(4000+i, inner, "Content-Description: "+g.encoded("description", oracleCharsets[i%len(oracleCharsets)], true)))
	case 11:
		g.note("signed")
		signed := g.multipart("signed", g.text("plain", "utf-8", "quoted-printable"),
			leaf(`application/pgp-signature; name="signature.asc"`, "7bit", []byte("-----BEGIN PGP SIGNATURE-----\r\n\r\niQEzBAEBCAAdFiEE\r\n-----END PGP SIGNATURE-----\r\n"),
				`Content-Disposition: attachment; filename="signature.asc"`, "Content-Description: OpenPGP digital signature"))
		signed.header[0] += `; protocol="application/pgp-signature"; micalg=pgp-sha256`
		return signed
	}
	return g.text("html", "utf-8", "8bit", "Content-Language: en", "Content-Location: http://example.org/page.html")
}

// oddAttachments returns a multipart/mixed with a preamble and an epilogue,
// a part without Content-Type, an empty part, and attachments named in
// every other way: RFC 2047 file names, a name parameter only, an RFC 2231
// name, plain RFC 2231 continuations, raw UTF-8, quoted-pairs, and a part
// with every optional field.
func (g *oracleGen) oddAttachments() *mimePart {
	for _, f := range []string{"preamble and epilogue", "part without Content-Type", "RFC 2047 filename", "name parameter only",
		"RFC 2231 name", "RFC 2231 plain continuation", "8-bit filename", "escaped filename", "empty part"} {
		g.note(f)
	}
	cs := oracleCharsets[g.rnd.IntN(len(oracleCharsets))]
	notes := g.data(200)
	sum := md5.Sum(notes)
	root := g.multipart("mixed",
		&mimePart{body: []byte(g.content(3, false))},
		g.attachment(`application/octet-stream; name="`+g.encodedWord(cs, string([]rune(cs.text)[:4])+".pdf", false)+`"`,
			`attachment; filename="`+g.encodedWord(oracleCharsets[0], "café menü.txt", true)+`"`),
		g.attachment(fmt.Sprintf(`application/octet-stream; name="data-%d.bin"`, g.rnd.IntN(1000)), ""),
		g.attachment(`text/csv; charset=utf-8; name*=UTF-8''%C3%A9t%C3%A9.csv`, "attachment"),
		g.attachment("application/octet-stream", `attachment; filename*0="very-long-file-name-"; filename*1="part-two.txt"`),
		g.attachment("application/pdf", `attachment; filename="Grüße 8-bit.pdf"`, "Content-Description: Übersicht, 8-bit"),
		g.attachment("text/plain", `attachment; filename="say \"hi\" \\ there.txt"`),
		leaf("text/plain; charset=us-ascii", "", []byte{}),
		leaf("text/plain; charset=us-ascii; format=flowed", "base64", notes,
			`Content-Disposition: attachment; filename="notes.txt"; size=200;`+"\r\n"+` creation-date="Wed, 12 Feb 1997 16:29:51 -0500"`,
			"Content-ID: <notes@example.org>", "Content-Description: "+g.encoded("description", cs, true),
			"Content-Language: en, de-CH", "Content-Location: http://example.org/notes.txt",
			"Content-MD5: "+base64.StdEncoding.EncodeToString(sum[:])))
	root.header = append(root.header, "Content-Language: en")
	root.preamble = "This is a multi-part message in MIME format.\r\n"
	root.epilogue = "epilogue: " + g.words(4) + "\r\n"
	return root
}

// ---------------------------------------------------------------------------
// The oracle: the standard library's view of the same bytes

// oracleDecode decodes the encoded-words of a header field's value;
// undecodable ones stay as they are.
func oracleDecode(s string) string {
	if d, err := oracleDecoder.DecodeHeader(s); err == nil {
		return d
	}
	return s
}

// oracleParams returns mime.ParseMediaType's parameters (lower-case names,
// RFC 2231 decoded) with their RFC 2047 encoded-words decoded; nil for
// none.
func oracleParams(params map[string]string) map[string]string {
	if len(params) == 0 {
		return nil
	}
	out := map[string]string{}
	for name, value := range params {
		out[name] = oracleDecode(value)
	}
	return out
}

// oracleRedoParams decodes parameters as the library returns them the
// oracle's way: a "name*" (RFC 2231, as Dovecot sends it with its
// continuations merged) by mime.ParseMediaType, the others' encoded-words
// by oracleDecode. It tells a mismatch of charset decoding only.
func oracleRedoParams(params map[string]string) map[string]string {
	out := map[string]string{}
	for name, value := range params {
		if base, star := strings.CutSuffix(name, "*"); star {
			if _, decoded, err := mime.ParseMediaType("x/y; " + name + "=" + value); err == nil {
				out[base] = decoded[base]
				continue
			}
		}
		out[name] = oracleDecode(value)
	}
	return out
}

// oracleFilename is BodyStructure.Filename of parameters.
func oracleFilename(disposition, params map[string]string) string {
	if name := disposition["filename"]; name != "" {
		return name
	}
	return params["name"]
}

// oraclePart is a body part as the standard library parses it.
type oraclePart struct {
	header    textproto.MIMEHeader
	mediaType string
	params    map[string]string
	body      []byte               // as sent, encoded
	message   textproto.MIMEHeader // message/rfc822: the header of the message inside
	parts     []*oraclePart        // multipart: its parts; message/rfc822: the message's body
}

func (p *oraclePart) multipart() bool { return strings.HasPrefix(p.mediaType, "multipart/") }

// oracleParse parses a part of the given header and body: RFC 2045's
// default type when it has no Content-Type (and RFC 2046's default charset
// when a text part has none), mime/multipart for the parts of a multipart,
// net/mail for a message/rfc822.
func oracleParse(t *testing.T, header textproto.MIMEHeader, body []byte) *oraclePart {
	p := &oraclePart{header: header, body: body, mediaType: "text/plain", params: map[string]string{"charset": "us-ascii"}}
	if ct := header.Get("Content-Type"); ct != "" {
		mediaType, params, err := mime.ParseMediaType(ct)
		require.NoError(t, err, "Content-Type: %s", ct)
		p.mediaType, p.params = mediaType, oracleParams(params)
		if _, ok := p.params["charset"]; !ok && strings.HasPrefix(mediaType, "text/") {
			if p.params == nil { // RFC 2046 §4.1.2: text defaults to US-ASCII
				p.params = map[string]string{}
			}
			p.params["charset"] = "us-ascii"
		}
	}
	switch {
	case p.multipart():
		r := multipart.NewReader(bytes.NewReader(body), p.params["boundary"])
		for {
			part, err := r.NextRawPart()
			if err == io.EOF {
				break
			}
			require.NoError(t, err, "parts of %s", p.mediaType)
			data, err := io.ReadAll(part)
			require.NoError(t, err)
			p.parts = append(p.parts, oracleParse(t, part.Header, data))
		}
	case p.mediaType == "message/rfc822":
		msg, err := mail.ReadMessage(bytes.NewReader(body))
		require.NoError(t, err, "message/rfc822")
		inner, err := io.ReadAll(msg.Body)
		require.NoError(t, err)
		p.message = textproto.MIMEHeader(msg.Header)
		p.parts = []*oraclePart{oracleParse(t, p.message, inner)}
	}
	return p
}

// oracleSection is a part of a message in the order of RFC 3501 §6.4.5's
// part specifiers, with the FETCH item that returns its body.
type oracleSection struct {
	path string
	part *oraclePart
	item string // "BODY[]" for a multipart message, "BODY[N.TEXT]" for the multipart inside message part N
	want []byte
}

// oracleWalk lists the parts of the message raw, whose body is root.
func oracleWalk(root *oraclePart, raw []byte) []oracleSection {
	var out []oracleSection
	var visit func(p *oraclePart, path, item string)
	visit = func(p *oraclePart, path, item string) {
		out = append(out, oracleSection{path: path, part: p, item: item, want: p.body})
		switch {
		case p.multipart():
			for i, part := range p.parts {
				sub := strconv.Itoa(i + 1)
				if path != "" {
					sub = path + "." + sub
				}
				visit(part, sub, "BODY["+sub+"]")
			}
		case p.mediaType == "message/rfc822" && p.parts[0].multipart():
			visit(p.parts[0], path, "BODY["+path+".TEXT]")
		case p.mediaType == "message/rfc822":
			visit(p.parts[0], path+".1", "BODY["+path+".1]")
		}
	}
	if root.multipart() {
		visit(root, "", "BODY[]")
		out[0].want = raw
	} else {
		visit(root, "1", "BODY[1]")
	}
	return out
}

// ---------------------------------------------------------------------------
// Comparing

// oracleWhere names a message by its number and a part by its specifier.
type oracleWhere struct {
	seq  uint32
	path string
}

// oracleMismatch is a field on which the library and the oracle disagree.
type oracleMismatch struct {
	where        oracleWhere
	field        string
	ours, oracle any
	decoding     bool // only charset decoding: the library's value, decoded the oracle's way, is the oracle's
}

// oracleChecker compares fields and counts the comparisons.
type oracleChecker struct {
	compared   int
	mismatches []oracleMismatch
}

// check compares a field; nil and empty slices and maps are the same.
func (c *oracleChecker) check(w oracleWhere, field string, ours, oracle any) bool {
	c.compared++
	if oracleSame(ours, oracle) {
		return true
	}
	c.mismatches = append(c.mismatches, oracleMismatch{w, field, ours, oracle, false})
	return false
}

// decoded compares a field that the oracle decoded from RFC 2047
// encoded-words or RFC 2231 parameters; redone is the library's value
// decoded the oracle's way. A mismatch that redone does not have is one of
// charset decoding only.
func (c *oracleChecker) decoded(w oracleWhere, field string, ours, oracle, redone any) {
	if !c.check(w, field, ours, oracle) && oracleSame(redone, oracle) {
		c.mismatches[len(c.mismatches)-1].decoding = true
	}
}

// bytes compares data, described on a mismatch by its length and where it
// first differs.
func (c *oracleChecker) bytes(w oracleWhere, field string, ours, oracle []byte) {
	c.compared++
	if bytes.Equal(ours, oracle) && (ours == nil) == (oracle == nil) {
		return
	}
	at := 0
	for at < min(len(ours), len(oracle)) && ours[at] == oracle[at] {
		at++
	}
	describe := func(b []byte) string {
		if b == nil {
			return "nil"
		}
		return fmt.Sprintf("%d bytes, from offset %d: %q", len(b), at, b[at:min(len(b), at+40)])
	}
	c.mismatches = append(c.mismatches, oracleMismatch{w, field, describe(ours), describe(oracle), false})
}

func oracleSame(a, b any) bool {
	if reflect.DeepEqual(a, b) {
		return true
	}
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	empty := func(v reflect.Value) bool {
		return (v.Kind() == reflect.Slice || v.Kind() == reflect.Map) && v.Len() == 0
	}
	return va.IsValid() && vb.IsValid() && va.Type() == vb.Type() && empty(va) && empty(vb)
}

// oracleTime is a time in a form that compares instants.
func oracleTime(t time.Time) string {
	if t.IsZero() {
		return "zero"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func oracleSorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// oracleAddressFields are the address fields of an ENVELOPE, with their
// header fields.
var oracleAddressFields = []struct {
	name, header string
	get          func(*Envelope) []Address
}{
	{"From", "From", func(e *Envelope) []Address { return e.From }},
	{"Sender", "Sender", func(e *Envelope) []Address { return e.Sender }},
	{"ReplyTo", "Reply-To", func(e *Envelope) []Address { return e.ReplyTo }},
	{"To", "To", func(e *Envelope) []Address { return e.To }},
	{"Cc", "Cc", func(e *Envelope) []Address { return e.Cc }},
	{"Bcc", "Bcc", func(e *Envelope) []Address { return e.Bcc }},
}

// envelope compares an ENVELOPE with the message header h: the date by
// mail.Header.Date, the subject decoded, the addresses by net/mail (which
// flattens groups, as the library does; Sender and Reply-To default to
// From, RFC 3501 §7.4.2), the identifiers as they are.
func (c *oracleChecker) envelope(w oracleWhere, prefix string, ours *Envelope, h textproto.MIMEHeader) {
	if !c.check(w, prefix+"returned", ours != nil, true) {
		return
	}
	date, err := mail.Header(h).Date()
	if err != nil {
		date = time.Time{}
	}
	c.check(w, prefix+"Date", oracleTime(ours.Date), oracleTime(date))
	c.decoded(w, prefix+"Subject", ours.Subject, oracleDecode(h.Get("Subject")), oracleDecode(ours.Subject))
	c.check(w, prefix+"InReplyTo", ours.InReplyTo, h.Get("In-Reply-To"))
	c.check(w, prefix+"MessageID", ours.MessageID, h.Get("Message-Id"))
	parser := mail.AddressParser{WordDecoder: &oracleDecoder}
	for _, f := range oracleAddressFields {
		field := prefix + f.name
		raw := h.Get(f.header)
		if raw == "" && (f.name == "Sender" || f.name == "ReplyTo") {
			raw = h.Get("From")
		}
		var want []*mail.Address
		if raw != "" {
			want, err = parser.ParseList(raw)
			if err != nil {
				c.check(w, field+" (net/mail: "+err.Error()+")", nil, raw)
				continue
			}
		}
		got := f.get(ours)
		if !c.check(w, "len("+field+")", len(got), len(want)) {
			continue
		}
		for i, a := range want {
			mailbox, host, _ := strings.Cut(a.Address, "@")
			at := fmt.Sprintf("%s[%d].", field, i)
			c.decoded(w, at+"Name", got[i].Name, a.Name, oracleDecode(got[i].Name))
			c.check(w, at+"Mailbox", got[i].Mailbox, mailbox)
			c.check(w, at+"Host", got[i].Host, host)
		}
	}
}

// bodyStructure compares a BODYSTRUCTURE with the oracle's parts in the
// order of Walk, and issues a FETCH of each part Walk names. It returns
// those FETCHes, to be read once all have been issued.
func (c *oracleChecker) bodyStructure(m *IMAP4, msg Message, root *oraclePart, raw []byte) []oracleFetch {
	w := oracleWhere{seq: msg.SeqNum}
	var paths []string
	var parts []*BodyStructure
	msg.BodyStructure.Walk(func(path string, part *BodyStructure) bool {
		paths, parts = append(paths, path), append(parts, part)
		return true
	})
	want := oracleWalk(root, raw)
	var wantPaths []string
	for _, s := range want {
		wantPaths = append(wantPaths, s.path)
	}
	c.check(w, "Walk paths", paths, wantPaths)

	var fetches []oracleFetch
	for i := range min(len(parts), len(want)) {
		at := oracleWhere{w.seq, paths[i]}
		c.part(at, parts[i], want[i].part)
		item := "BODY[" + paths[i] + "]"
		switch {
		case want[i].item == "BODY[]":
			c.bytes(at, "BODY[] (the multipart message)", msg.Body("BODY[]"), raw) // fetched already
			continue
		case strings.HasSuffix(want[i].item, ".TEXT]"):
			item = "BODY[" + paths[i] + ".TEXT]"
		}
		fetches = append(fetches, oracleFetch{at, item, want[i].want, m.Fetch(strconv.Itoa(int(w.seq)), "(BODY.PEEK"+item[len("BODY"):]+")")})
	}
	return fetches
}

// oracleFetch is a pending FETCH of one part and the bytes it must return.
type oracleFetch struct {
	where oracleWhere
	item  string
	want  []byte
	cmd   *Command
}

// part compares the fields of one body part: those of a multipart (its
// type, parameters and extension data) or of a single part (all the rest
// too: its size in octets, and for text/* and message/rfc822 its lines,
// the line feeds of its body: the CRLF before a boundary is the
// delimiter's, so a last line that ends there does not count).
func (c *oracleChecker) part(w oracleWhere, ours *BodyStructure, p *oraclePart) {
	h := p.header
	c.check(w, "MediaType", ours.MediaType, p.mediaType)
	c.decoded(w, "Params", ours.Params, p.params, oracleRedoParams(ours.Params))
	var disposition string
	var dparams map[string]string
	if cd := h.Get("Content-Disposition"); cd != "" {
		d, params, err := mime.ParseMediaType(cd)
		if c.check(w, "Content-Disposition (mime.ParseMediaType)", err, nil) {
			disposition, dparams = d, oracleParams(params)
		}
	}
	c.check(w, "Disposition", ours.Disposition, disposition)
	c.decoded(w, "DispositionParams", ours.DispositionParams, dparams, oracleRedoParams(ours.DispositionParams))
	c.decoded(w, "Filename()", ours.Filename(), oracleFilename(dparams, p.params),
		oracleFilename(oracleRedoParams(ours.DispositionParams), oracleRedoParams(ours.Params)))
	var language []string
	for _, l := range strings.Split(h.Get("Content-Language"), ",") {
		if l = strings.TrimSpace(l); l != "" {
			language = append(language, l)
		}
	}
	c.check(w, "Language", ours.Language, language)
	c.check(w, "Location", ours.Location, h.Get("Content-Location"))
	c.check(w, "len(Parts)", len(ours.Parts), len(p.parts))

	var id, description, encoding, md5 string
	var size, lines uint32
	if !p.multipart() {
		id, description, md5 = h.Get("Content-Id"), oracleDecode(h.Get("Content-Description")), h.Get("Content-Md5")
		encoding = strings.ToLower(h.Get("Content-Transfer-Encoding"))
		if encoding == "" {
			encoding = "7bit"
		}
		size = uint32(len(p.body))
		if strings.HasPrefix(p.mediaType, "text/") || p.mediaType == "message/rfc822" {
			lines = uint32(bytes.Count(p.body, []byte("\n")))
		}
	}
	c.check(w, "ID", ours.ID, id)
	c.decoded(w, "Description", ours.Description, description, oracleDecode(ours.Description))
	c.check(w, "Encoding", ours.Encoding, encoding)
	c.check(w, "Size", ours.Size, size)
	c.check(w, "Lines", ours.Lines, lines)
	c.check(w, "MD5", ours.MD5, md5)
	if p.message != nil {
		c.envelope(w, "Envelope.", ours.Envelope, p.message)
	} else {
		c.check(w, "Envelope returned", ours.Envelope != nil, false)
	}
}

// report logs the summary and fails the test with each mismatch.
func (c *oracleChecker) report(t *testing.T, messages int) {
	decoding := 0
	for _, mm := range c.mismatches {
		tag := ""
		if mm.decoding {
			decoding++
			tag = " [charset decoding only]"
		}
		t.Errorf("message %d, path %q, %s: ours %#v, oracle %#v%s", mm.where.seq, mm.where.path, mm.field, mm.ours, mm.oracle, tag)
	}
	t.Logf("oracle: %d messages, %s field comparisons, %d mismatches (%d of charset decoding only)",
		messages, oracleThousands(c.compared), len(c.mismatches), decoding)
}

// oracleThousands writes n with thousands separators: 3,412.
func oracleThousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
