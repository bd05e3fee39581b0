package imaplib2

import (
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/encoding/unicode/utf32"
	"golang.org/x/text/transform"
)

// rfc2047Examples are the examples of RFC 2047 §8, with what a reader
// displays for them.
var rfc2047Examples = []struct{ in, want string }{
	{"=?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>", "Keith Moore <moore@cs.utk.edu>"},
	{"=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>", "Keld Jørn Simonsen <keld@dkuug.dk>"},
	{"=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>", "André Pirard <PIRARD@vm1.ulg.ac.be>"},
	{"=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\r\n    =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=",
		"If you can read this you understand the example."},
	{"=?ISO-8859-1?Q?Olle_J=E4rnefors?= <ojarnef@admin.kth.se>", "Olle Järnefors <ojarnef@admin.kth.se>"},
	{"=?ISO-8859-1?Q?Patrik_F=E4ltstr=F6m?= <paf@nada.kth.se>", "Patrik Fältström <paf@nada.kth.se>"},
	{"Nathaniel Borenstein <nsb@thumper.bellcore.com>\r\n    (=?iso-8859-8?b?7eXs+SDv4SDp7Oj08A==?=)",
		"Nathaniel Borenstein <nsb@thumper.bellcore.com>\r\n    (\u05dd\u05d5\u05dc\u05e9 \u05df\u05d1 \u05d9\u05dc\u05d8\u05e4\u05e0)"},
	{"(=?ISO-8859-1?Q?a?=)", "(a)"},
	{"(=?ISO-8859-1?Q?a?= b)", "(a b)"},
	{"(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)"},
	{"(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)"},
	{"(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)"},
	{"(=?ISO-8859-1?Q?a_b?=)", "(a b)"},
	{"(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)"},
}

// TestDecodeHeaderRFC2047 decodes the examples of RFC 2047 §8.
func TestDecodeHeaderRFC2047(t *testing.T) {
	for _, tc := range rfc2047Examples {
		assert.Equal(t, tc.want, decodeHeader(tc.in), "%q", tc.in)
	}
}

// headerCases are decodeHeader cases beyond RFC 2047's examples: the
// leniencies, the language suffix, and encoded-words that stay as sent.
var headerCases = []struct{ name, in, want string }{
	{"plain", "Re: plain subject", "Re: plain subject"},
	{"empty", "", ""},
	{"lower case b", "=?utf-8?b?w6k=?=", "é"},
	{"lower case q", "=?utf-8?q?=c3=a9?=", "é"},
	{"no padding", "=?UTF-8?B?w6k?=", "é"},
	{"empty word", "a =?UTF-8?Q??= b", "a  b"},
	{"spaces in Q", "=?UTF-8?Q?hello world?=", "hello world"},
	{"inside a word", "foo=?UTF-8?Q?bar?=baz", "foobarbaz"},
	{"language suffix", "=?UTF-8*en?Q?Hello?=", "Hello"},
	{"language suffix latin1", "=?ISO-8859-1*fr?Q?=E7a?=", "ça"},
	{"character split over words", "=?UTF-8?Q?caf=C3?= =?UTF-8?Q?=A9?=", "café"},
	{"split over B words", "=?UTF-8?B?4o==?=\t=?UTF-8?B?gqw=?=", "€"},
	{"words with text between", "=?UTF-8?Q?a?= - =?UTF-8?Q?b?=", "a - b"},
	{"charset alias", "=?cp1252?Q?=93x=94?=", "“x”"},
	{"utf8 label", "=?utf8?Q?caf=C3=A9?=", "café"},
	{"invalid in utf8 label", "=?utf8?Q?caf=E9?=", "=?utf8?Q?caf=E9?="},
	{"WHATWG label", "=?x-sjis?B?k/qWe4zq?=", "日本語"},
	{"ks_c_5601-1987", "=?ks_c_5601-1987?B?x9GxuQ==?=", "한국"},
	{"UTF-32", "=?UTF-32BE?B?AAAA6Q==?=", "é"},
	{"U+FFFD sent in UTF-16", "=?UTF-16BE?B?//0=?=", "\ufffd"},
	{"U+FFFD sent in GB18030", "=?GB18030?B?hDGkNw==?=", "\ufffd"},
	{"U+FFFD sent in UTF-8", "=?UTF-8?Q?=EF=BF=BD?=", "\ufffd"},
	{"unknown charset", "=?x-unknown?Q?abc?=", "=?x-unknown?Q?abc?="},
	{"replacement charset", "=?ISO-2022-KR?Q?abc?=", "=?ISO-2022-KR?Q?abc?="},
	{"empty charset", "=??Q?abc?=", "=??Q?abc?="},
	{"charset with space", "=?UTF 8?Q?abc?=", "=?UTF 8?Q?abc?="},
	{"unknown encoding", "=?UTF-8?X?abc?=", "=?UTF-8?X?abc?="},
	{"broken base64", "=?UTF-8?B?not*base64?=", "=?UTF-8?B?not*base64?="},
	{"base64 of one char", "=?UTF-8?B?Q?=", "=?UTF-8?B?Q?="},
	{"base64 with newline", "=?UTF-8?B?w6\r\nk=?=", "=?UTF-8?B?w6\r\nk=?="},
	{"broken Q", "=?UTF-8?Q?a=2?=", "=?UTF-8?Q?a=2?="},
	{"broken Q hex", "=?UTF-8?Q?a=XY?=", "=?UTF-8?Q?a=XY?="},
	{"8-bit in Q", "=?UTF-8?Q?caf\xc3\xa9?=", "=?UTF-8?Q?caf\xc3\xa9?="},
	{"invalid UTF-8", "=?UTF-8?Q?=FF=FE?=", "=?UTF-8?Q?=FF=FE?="},
	{"truncated UTF-8", "=?UTF-8?Q?=E2=82?=", "=?UTF-8?Q?=E2=82?="},
	{"8-bit US-ASCII", "=?US-ASCII?Q?=E9?=", "=?US-ASCII?Q?=E9?="},
	{"undefined in ISO-8859-3", "=?ISO-8859-3?Q?=A5?=", "=?ISO-8859-3?Q?=A5?="},
	{"invalid Shift_JIS", "=?Shift_JIS?B?gf8=?=", "=?Shift_JIS?B?gf8=?="},
	{"no end", "=?UTF-8?Q?abc", "=?UTF-8?Q?abc"},
	{"no encoding", "=?UTF-8?", "=?UTF-8?"},
	{"only the start", "=?", "=?"},
	{"bad word among good ones",
		"=?UTF-8?Q?ok?= =?x-bad?Q?no?= =?UTF-8?Q?ok?=",
		"ok =?x-bad?Q?no?= ok"},
	{"bad bytes among good words", "=?UTF-8?Q?=FF?= =?UTF-8?Q?ok?=", "=?UTF-8?Q?=FF?= ok"},
	{"not a word, then a word", "=?x =?UTF-8?Q?a?=", "=?x a"},
	{"question mark in text", "Why? =?UTF-8?Q?Because?=", "Why? Because"},
}

// TestDecodeHeaderCases checks headerCases.
func TestDecodeHeaderCases(t *testing.T) {
	for _, tc := range headerCases {
		assert.Equal(t, tc.want, decodeHeader(tc.in), "%s: %q", tc.name, tc.in)
	}
}

// bWord returns a B encoded-word of b in charset.
func bWord(charset string, b []byte) string {
	return "=?" + charset + "?B?" + base64.StdEncoding.EncodeToString(b) + "?="
}

// qWord returns a Q encoded-word of b in charset: letters, digits and
// "!*+-/" stand for themselves, a space is "_", the rest is "=XX".
func qWord(charset string, b []byte) string {
	var w strings.Builder
	w.WriteString("=?" + charset + "?Q?")
	for _, c := range b {
		switch {
		case c == ' ':
			w.WriteByte('_')
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("!*+-/", c) >= 0:
			w.WriteByte(c)
		default:
			fmt.Fprintf(&w, "=%02X", c)
		}
	}
	w.WriteString("?=")
	return w.String()
}

// testCharsets are charsets with an x/text encoding taken from its own
// package (not from the indexes decodeHeader uses) and a text in a script
// the charset holds.
var testCharsets = []struct {
	label string
	enc   encoding.Encoding
	text  string
}{
	{"ISO-8859-1", charmap.ISO8859_1, "Grüße aus Köln, ça va? Ñandú ½"},
	{"ISO-8859-2", charmap.ISO8859_2, "Zażółć gęślą jaźń, Příliš žluťoučký kůň"},
	{"ISO-8859-5", charmap.ISO8859_5, "Съешь же ещё этих мягких булок"},
	{"ISO-8859-7", charmap.ISO8859_7, "Καλημέρα κόσμε"},
	{"ISO-8859-15", charmap.ISO8859_15, "Prix: 20 € pour l'œuvre, Ÿ"},
	{"Windows-1250", charmap.Windows1250, "Dobrý den, „Łódź“"},
	{"Windows-1251", charmap.Windows1251, "Привет, мир! Ёлка «ёж»"},
	{"Windows-1252", charmap.Windows1252, "“Smart quotes” – 5 € … ™"},
	{"KOI8-R", charmap.KOI8R, "Съешь же ещё этих мягких французских булок"},
	{"KOI8-U", charmap.KOI8U, "Ґанок і їжак, Євген"},
	{"Shift_JIS", japanese.ShiftJIS, "日本語のメール件名テスト ｶﾀｶﾅ"},
	{"EUC-JP", japanese.EUCJP, "こんにちは、世界！"},
	{"ISO-2022-JP", japanese.ISO2022JP, "会議のお知らせ（第３回） ok"},
	{"GB2312", simplifiedchinese.GBK, "你好，世界"},
	{"GBK", simplifiedchinese.GBK, "中文邮件主题：测试"},
	{"GB18030", simplifiedchinese.GB18030, "中文邮件 𠀀 €"},
	{"Big5", traditionalchinese.Big5, "繁體中文測試"},
	{"EUC-KR", korean.EUCKR, "안녕하세요, 세계"},
	{"UTF-8", unicode.UTF8, "Ünïcödé ✓ 🎉 日本"},
	{"UTF-16BE", unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM), "UTF-16 é 🎉"},
	{"UTF-16LE", unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), "UTF-16 é 🎉"},
	{"UTF-16", unicode.UTF16(unicode.BigEndian, unicode.UseBOM), "with a BOM é"},
	{"UTF-32LE", utf32.UTF32(utf32.LittleEndian, utf32.IgnoreBOM), "UTF-32 é 🎉"},
}

// TestDecodeHeaderCharsets encodes a text in each of testCharsets with
// x/text's encoder, as B and Q encoded-words, whole and with its bytes
// split over several words, and checks that decodeHeader gives it back.
func TestDecodeHeaderCharsets(t *testing.T) {
	for _, cs := range testCharsets {
		t.Run(cs.label, func(t *testing.T) {
			b, err := cs.enc.NewEncoder().Bytes([]byte(cs.text))
			require.NoError(t, err)
			for _, label := range []string{cs.label, strings.ToLower(cs.label)} {
				assert.Equal(t, "Subject: "+cs.text+"!", decodeHeader("Subject: "+bWord(label, b)+"!"))
				assert.Equal(t, cs.text, decodeHeader(qWord(label, b)))
			}
			// Bytes split anywhere, even inside a character or an
			// escape sequence, over words joined by folding white space.
			for _, size := range []int{1, 3, 7} {
				var words []string
				for rest := b; len(rest) > 0; rest = rest[min(size, len(rest)):] {
					word := bWord
					if len(words)%2 == 1 {
						word = qWord
					}
					words = append(words, word(cs.label, rest[:min(size, len(rest))]))
				}
				assert.Equal(t, "("+cs.text+")", decodeHeader("("+strings.Join(words, "\r\n ")+")"), "size %d", size)
			}
		})
	}
}

// oracleDecoder is Go's own RFC 2047 decoder, with the charsets of x/text.
var oracleDecoder = mime.WordDecoder{
	CharsetReader: func(charset string, r io.Reader) (io.Reader, error) {
		enc, err := ianaindex.MIME.Encoding(charset)
		if err != nil || enc == nil {
			enc, err = htmlindex.Get(charset)
		}
		if err != nil {
			return nil, err
		}
		return transform.NewReader(r, enc.NewDecoder()), nil
	},
}

// repertoire returns runes that enc encodes and decodes back to
// themselves, drawn from ASCII and from ranges of several scripts.
func repertoire(enc encoding.Encoding) []rune {
	ranges := [][2]rune{
		{0x20, 0x7e}, {0xa0, 0x17f}, {0x370, 0x3ce}, {0x400, 0x45f}, {0x5d0, 0x5ea},
		{0x2013, 0x2026}, {0x20ac, 0x20ac}, {0x3001, 0x3002}, {0x3041, 0x30ff}, {0x4e00, 0x4fff},
		{0xac00, 0xadff}, {0xff01, 0xff5e}, {0x1f600, 0x1f64f}, {0x20000, 0x2000f},
	}
	var runes []rune
	for _, r := range ranges {
		for c := r[0]; c <= r[1]; c++ {
			b, err := enc.NewEncoder().String(string(c))
			if err != nil {
				continue
			}
			if back, err := enc.NewDecoder().String(b); err == nil && back == string(c) {
				runes = append(runes, c)
			}
		}
	}
	return runes
}

// TestDecodeHeaderOracle compares decodeHeader with net/mime's
// WordDecoder on generated headers: plain text and encoded-words of random
// texts in several charsets, B and Q, joined by white space or text. The
// words are those WordDecoder handles: each holds whole characters, and
// none is in a charset with a byte order mark, as decodeHeader decodes
// adjacent words of one charset together.
func TestDecodeHeaderOracle(t *testing.T) {
	charsets := []struct {
		label string
		enc   encoding.Encoding
	}{
		{"ISO-8859-1", charmap.ISO8859_1}, {"ISO-8859-2", charmap.ISO8859_2},
		{"ISO-8859-15", charmap.ISO8859_15}, {"Windows-1251", charmap.Windows1251},
		{"Windows-1252", charmap.Windows1252}, {"KOI8-R", charmap.KOI8R},
		{"Shift_JIS", japanese.ShiftJIS}, {"EUC-JP", japanese.EUCJP},
		{"ISO-2022-JP", japanese.ISO2022JP}, {"GBK", simplifiedchinese.GBK},
		{"GB18030", simplifiedchinese.GB18030}, {"Big5", traditionalchinese.Big5},
		{"EUC-KR", korean.EUCKR}, {"UTF-8", unicode.UTF8}, {"US-ASCII", charmap.ISO8859_1},
		{"UTF-16BE", unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM)},
	}
	runes := make([][]rune, len(charsets))
	for i, cs := range charsets {
		runes[i] = repertoire(cs.enc)
		if cs.label == "US-ASCII" {
			runes[i] = runes[i][:0x7f-0x20]
		}
		require.NotEmpty(t, runes[i], cs.label)
	}
	plain := []string{"Re: ", "Fwd:", "hello", " - ", "(", ")", "a,b", "x"}
	blank := []string{" ", "  ", "\t", "\r\n ", "\r\n\t", ""}
	rng := rand.New(rand.NewPCG(2047, 2231))
	const n = 3000
	for i := 0; i < n; i++ {
		var h strings.Builder
		for k := rng.IntN(5); k >= 0; k-- {
			if rng.IntN(4) == 0 {
				p := plain[rng.IntN(len(plain))]
				h.WriteString(p)
				continue
			}
			c := rng.IntN(len(charsets))
			text := make([]rune, rng.IntN(12))
			for j := range text {
				text[j] = runes[c][rng.IntN(len(runes[c]))]
			}
			b, err := charsets[c].enc.NewEncoder().Bytes([]byte(string(text)))
			require.NoError(t, err)
			label := charsets[c].label
			if rng.IntN(2) == 0 {
				label = strings.ToLower(label)
			}
			if rng.IntN(2) == 0 {
				h.WriteString(bWord(label, b))
			} else {
				h.WriteString(qWord(label, b))
			}
			h.WriteString(blank[rng.IntN(len(blank))])
		}
		in := h.String()
		oracle, err := oracleDecoder.DecodeHeader(in)
		require.NoError(t, err, "%q", in)
		if !assert.Equal(t, oracle, decodeHeader(in), "%q", in) {
			break
		}
	}
}

// TestDecodeHeaderNoAlloc checks that text without encoded-words is
// returned without allocating.
func TestDecodeHeaderNoAlloc(t *testing.T) {
	for _, s := range []string{"", "Re: a plain ASCII subject", "Grüße =? not a word", "a = ? b"} {
		allocs := testing.AllocsPerRun(100, func() { sink = decodeHeader(s) })
		assert.Zero(t, allocs, "%q", s)
	}
}

// sink keeps the compiler from dropping calls whose result is unused.
var sink string

// TestDecodeCharsetCache checks that charset names are looked up once and
// that the cache stays bounded.
func TestDecodeCharsetCache(t *testing.T) {
	charsetCache.Lock()
	saved := charsetCache.m
	charsetCache.m = nil
	charsetCache.Unlock()
	t.Cleanup(func() {
		charsetCache.Lock()
		charsetCache.m = saved
		charsetCache.Unlock()
	})

	assert.Equal(t, charmap.ISO8859_2, lookupCharset("ISO-8859-2"))
	assert.Equal(t, japanese.ShiftJIS, lookupCharset("x-sjis"))
	assert.Nil(t, lookupCharset("x-unknown"))
	assert.Nil(t, lookupCharset(strings.Repeat("x", maxCharsetName+1)))
	charsetCache.RLock()
	assert.Contains(t, charsetCache.m, "ISO-8859-2")
	assert.Contains(t, charsetCache.m, "x-sjis")
	enc, found := charsetCache.m["x-unknown"]
	assert.NotContains(t, charsetCache.m, strings.Repeat("x", maxCharsetName+1))
	charsetCache.RUnlock()
	assert.True(t, found, "an unknown name is cached too")
	assert.Nil(t, enc)

	// Decoding caches the charset: a second subject needs no look-up.
	decodeHeader("=?KOI8-R?B?9MXT1A==?=")
	charsetCache.RLock()
	assert.Contains(t, charsetCache.m, "KOI8-R")
	charsetCache.RUnlock()
	allocs := testing.AllocsPerRun(100, func() { lookupCharset("KOI8-R") })
	assert.Zero(t, allocs)
	assert.Equal(t, "Тест", decodeHeader("=?KOI8-R?B?9MXT1A==?="))

	for i := 0; i < 2*maxCachedCharsets; i++ {
		lookupCharset(fmt.Sprintf("x-unknown-%d", i))
	}
	charsetCache.RLock()
	assert.Len(t, charsetCache.m, maxCachedCharsets)
	charsetCache.RUnlock()
	assert.Equal(t, charmap.KOI8U, lookupCharset("KOI8-U"), "found when the cache is full")
}

// TestDecodeHeaderConcurrent decodes in several goroutines at once, for
// the race detector.
func TestDecodeHeaderConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Go(func() {
			for i := 0; i < 100; i++ {
				cs := testCharsets[(g+i)%len(testCharsets)]
				b, err := cs.enc.NewEncoder().Bytes([]byte(cs.text))
				if assert.NoError(t, err) {
					assert.Equal(t, cs.text, decodeHeader(bWord(cs.label, b)))
				}
			}
		})
	}
	wg.Wait()
}

// paramCases are decodeParams cases: RFC 2231's examples, RFC 2047
// encoded-words in values, and what stays as sent.
var paramCases = []struct {
	name  string
	pairs [][2]string
	want  map[string]string
}{
	{"nil", nil, nil},
	{"empty", [][2]string{}, nil},
	{"plain, names in lower case",
		[][2]string{{"CHARSET", "UTF-8"}, {"Format", "flowed"}},
		map[string]string{"charset": "UTF-8", "format": "flowed"}},
	{"RFC 2231 §3: continuations",
		[][2]string{{"access-type", "URL"}, {"URL*0", "ftp://"}, {"URL*1", "cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"}},
		map[string]string{"access-type": "URL", "url": "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"}},
	{"RFC 2231 §4: extended value",
		[][2]string{{"title*", "us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A"}},
		map[string]string{"title": "This is ***fun***"}},
	{"RFC 2231 §4.1: extended continuations",
		[][2]string{{"title*0*", "us-ascii'en'This%20is%20even%20more%20"}, {"title*1*", "%2A%2A%2Afun%2A%2A%2A%20"}, {"title*2", "isn't it!"}},
		map[string]string{"title": "This is even more ***fun*** isn't it!"}},
	{"out of order, upper case",
		[][2]string{{"TITLE*2", "isn't it!"}, {"Title*0*", "us-ascii'en'This%20is%20even%20more%20"}, {"title*1*", "%2A%2A%2Afun%2A%2A%2A%20"}},
		map[string]string{"title": "This is even more ***fun*** isn't it!"}},
	{"UTF-8 filename",
		[][2]string{{"filename*", "UTF-8''%E2%82%AC%20rates.pdf"}},
		map[string]string{"filename": "€ rates.pdf"}},
	{"lower-case hex",
		[][2]string{{"filename*", "utf-8''%e2%82%ac.pdf"}},
		map[string]string{"filename": "€.pdf"}},
	{"ISO-8859-1 filename with a language",
		[][2]string{{"FILENAME*", "iso-8859-1'de'Gr%FC%DFe.txt"}},
		map[string]string{"filename": "Grüße.txt"}},
	{"Shift_JIS filename",
		[][2]string{{"filename*", "Shift_JIS''%93%FA%96%7B%8C%EA.txt"}},
		map[string]string{"filename": "日本語.txt"}},
	{"character split over sections",
		[][2]string{{"name*1*", "%AC.pdf"}, {"name*0*", "UTF-8''%E2%82"}},
		map[string]string{"name": "€.pdf"}},
	{"no charset: UTF-8",
		[][2]string{{"title*", "''caf%C3%A9"}},
		map[string]string{"title": "café"}},
	{"RFC 2047 in filename",
		[][2]string{{"filename", "=?UTF-8?B?4oKsIHJhdGVzLnBkZg==?="}},
		map[string]string{"filename": "€ rates.pdf"}},
	{"RFC 2047 Q in name",
		[][2]string{{"NAME", "=?ISO-8859-1?Q?Gr=FC=DFe.txt?="}},
		map[string]string{"name": "Grüße.txt"}},
	{"RFC 2047 words split over continuations",
		[][2]string{{"name*0", "=?UTF-8?Q?caf"}, {"name*1", "=C3=A9.txt?="}},
		map[string]string{"name": "café.txt"}},
	{"extended wins over plain",
		[][2]string{{"filename", "rates.pdf"}, {"filename*", "UTF-8''%E2%82%AC%20rates.pdf"}},
		map[string]string{"filename": "€ rates.pdf"}},
	{"extended wins over plain sent after it",
		[][2]string{{"filename*", "UTF-8''%E2%82%AC%20rates.pdf"}, {"filename", "rates.pdf"}},
		map[string]string{"filename": "€ rates.pdf"}},
	{"undecodable extended: plain wins",
		[][2]string{{"filename*", "x-unknown''%E2%82%AC.pdf"}, {"filename", "fallback.pdf"}},
		map[string]string{"filename": "fallback.pdf"}},
	{"unknown charset: as sent",
		[][2]string{{"filename*", "x-unknown''%E2%82%AC.pdf"}},
		map[string]string{"filename": "x-unknown''%E2%82%AC.pdf"}},
	{"invalid UTF-8: as sent",
		[][2]string{{"filename*", "utf-8''%FF.pdf"}},
		map[string]string{"filename": "utf-8''%FF.pdf"}},
	{"undecodable run, plain section decoded",
		[][2]string{{"title*0*", "us-ascii''caf%E9"}, {"title*1", " ok"}},
		map[string]string{"title": "us-ascii''caf%E9 ok"}},
	{"stray percent",
		[][2]string{{"filename*", "utf-8''100%.pdf"}},
		map[string]string{"filename": "100%.pdf"}},
	{"no charset'lang' prefix: as sent",
		[][2]string{{"filename*", "%E2%82%AC.pdf"}, {"x*", "a'b"}},
		map[string]string{"filename": "%E2%82%AC.pdf", "x": "a'b"}},
	{"no prefix: plain wins",
		[][2]string{{"filename*", "%E2%82%AC.pdf"}, {"filename", "euro.pdf"}},
		map[string]string{"filename": "euro.pdf"}},
	{"gap: later sections under their names",
		[][2]string{{"title*0", "a"}, {"title*2", "c"}, {"title*3*", "%64"}},
		map[string]string{"title": "a", "title*2": "c", "title*3*": "%64"}},
	{"no section 0",
		[][2]string{{"title*1", "b"}},
		map[string]string{"title*1": "b"}},
	{"duplicate section: the first",
		[][2]string{{"title*0", "a"}, {"title*0", "x"}, {"title*1", "b"}},
		map[string]string{"title": "ab"}},
	{"duplicate name: the first",
		[][2]string{{"charset", "us-ascii"}, {"CHARSET", "utf-8"}},
		map[string]string{"charset": "us-ascii"}},
	{"not section numbers",
		[][2]string{{"title*01", "x"}, {"title*10000", "y"}, {"*0", "z"}, {"a*b", "w"}, {"t**", "v"}},
		map[string]string{"title*01": "x", "title*10000": "y", "*0": "z", "a*b": "w", "t**": "v"}},
	{"boundary with =",
		[][2]string{{"boundary", "----=_Part_0_=?x"}},
		map[string]string{"boundary": "----=_Part_0_=?x"}},
	{"empty value",
		[][2]string{{"name", ""}, {"title*", "utf-8''"}},
		map[string]string{"name": "", "title": ""}},
}

// TestDecodeParams checks paramCases.
func TestDecodeParams(t *testing.T) {
	for _, tc := range paramCases {
		assert.Equal(t, tc.want, decodeParams(tc.pairs), tc.name)
	}
}

// TestDecodeParamsKeepsInput checks that decodeParams leaves its
// argument as it was.
func TestDecodeParamsKeepsInput(t *testing.T) {
	pairs := [][2]string{{"Title*1*", "%2A"}, {"title*0*", "us-ascii'en'a"}}
	decodeParams(pairs)
	assert.Equal(t, [][2]string{{"Title*1*", "%2A"}, {"title*0*", "us-ascii'en'a"}}, pairs)
}

// FuzzDecodeHeader checks that decodeHeader never panics, keeps valid
// UTF-8 valid and returns text without "=?" unchanged.
func FuzzDecodeHeader(f *testing.F) {
	for _, tc := range rfc2047Examples {
		f.Add(tc.in)
	}
	for _, tc := range headerCases {
		f.Add(tc.in)
	}
	for _, cs := range testCharsets {
		if b, err := cs.enc.NewEncoder().Bytes([]byte(cs.text)); err == nil {
			f.Add(bWord(cs.label, b) + " " + qWord(cs.label, b[:len(b)/2]))
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := decodeHeader(s)
		if utf8.ValidString(s) && !utf8.ValidString(out) {
			t.Errorf("decodeHeader(%q) = %q, not valid UTF-8", s, out)
		}
		if !strings.Contains(s, "=?") && out != s {
			t.Errorf("decodeHeader(%q) = %q, want it unchanged", s, out)
		}
	})
}

// FuzzDecodeParams checks that decodeParams never panics and gives valid
// UTF-8 for valid UTF-8. The input holds name=value pairs, one a line.
func FuzzDecodeParams(f *testing.F) {
	for _, tc := range paramCases {
		var b strings.Builder
		for _, p := range tc.pairs {
			b.WriteString(p[0] + "=" + p[1] + "\n")
		}
		f.Add(b.String())
	}
	f.Fuzz(func(t *testing.T, s string) {
		var pairs [][2]string
		for _, line := range strings.Split(s, "\n") {
			name, value, _ := strings.Cut(line, "=")
			pairs = append(pairs, [2]string{name, value})
		}
		for name, value := range decodeParams(pairs) {
			if utf8.ValidString(s) && !utf8.ValidString(value) {
				t.Errorf("decodeParams(%q): %s = %q, not valid UTF-8", pairs, name, value)
			}
		}
	})
}

// BenchmarkDecodeHeader decodes a plain ASCII subject, a UTF-8 B word and
// an ISO-8859-1 Q word.
func BenchmarkDecodeHeader(b *testing.B) {
	for _, bc := range []struct{ name, in, want string }{
		{"ascii", "Re: the quarterly report, second draft", "Re: the quarterly report, second draft"},
		{"utf8-B", "=?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=", "Grüße aus Köln"},
		{"latin1-Q", "=?ISO-8859-1?Q?Gr=FC=DFe_aus_K=F6ln?=", "Grüße aus Köln"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if got := decodeHeader(bc.in); got != bc.want {
				b.Fatalf("decodeHeader(%q) = %q, want %q", bc.in, got, bc.want)
			}
			b.ReportAllocs()
			for b.Loop() {
				sink = decodeHeader(bc.in)
			}
		})
	}
}

// Hostile header text with a hundred thousand "=?" that never close, or
// close only at the very end, is read in one pass: the search for "?=" and
// for line breaks moves forward only (it took seconds for 280 KB when each
// "=?" searched the rest of the text again).
func TestDecodeHeaderManyOpenWords(t *testing.T) {
	for _, tt := range []struct{ name, text, want string }{
		{"unclosed", strings.Repeat("=?a?q?x", 100000), ""},
		{"B closed at the end", strings.Repeat("=?a?b?x", 100000) + "?=", ""},
		{"Q closed at the end", strings.Repeat("=?utf-8?q?x", 100000) + "?=", strings.Repeat("=?utf-8?q?x", 99999) + "x"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want == "" {
				want = tt.text // nothing decodable: the text as sent
			}
			got := decodeHeader(tt.text)
			assert.True(t, got == want, "decoded %d bytes to %d bytes, want %d", len(tt.text), len(got), len(want))
		})
	}
	ok := strings.Repeat("=?a?q?x", 1000) + " =?utf-8?q?caf=C3=A9?="
	assert.Equal(t, strings.Repeat("=?a?q?x", 1000)+" café", decodeHeader(ok), "a good word after many open ones")
}
