package imaplib2

import (
	"bytes"
	"encoding/base64"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/encoding/unicode/utf32"
)

// Charset names come from the server, so the cache of what they name is
// bounded in both the number of names and their length.
const (
	maxCachedCharsets = 256 // names remembered; later ones are looked up each time
	maxCharsetName    = 64  // longer names are unknown (the IANA ones are shorter)
)

// charsetCache maps a charset name, as sent, to its encoding, or to nil
// for a name that golang.org/x/text does not know. It holds encodings and
// not decoders because a decoder keeps state and serves one goroutine.
var charsetCache struct {
	sync.RWMutex
	m map[string]encoding.Encoding
}

// lookupCharset returns the encoding named by a MIME charset name, or nil
// when the name is unknown. Results are cached.
func lookupCharset(name string) encoding.Encoding {
	if len(name) > maxCharsetName {
		return nil
	}
	charsetCache.RLock()
	enc, found := charsetCache.m[name]
	charsetCache.RUnlock()
	if found {
		return enc
	}
	enc = findCharset(name)
	charsetCache.Lock()
	if charsetCache.m == nil {
		charsetCache.m = make(map[string]encoding.Encoding)
	}
	if len(charsetCache.m) < maxCachedCharsets {
		charsetCache.m[strings.Clone(name)] = enc
	}
	charsetCache.Unlock()
	return enc
}

// findCharset looks a charset name up in the IANA registry, then among
// the WHATWG labels (which add aliases such as "cp1252" and "x-sjis"),
// then among the UTF-32 forms that neither index names. It returns nil for
// an unknown name and for the WHATWG "replacement" encoding, which decodes
// everything to one U+FFFD.
func findCharset(name string) encoding.Encoding {
	if enc, err := ianaindex.IANA.Encoding(name); err == nil && enc != nil {
		return enc
	}
	if enc, err := htmlindex.Get(name); err == nil && enc != encoding.Replacement {
		return enc
	}
	switch strings.ToLower(name) {
	case "utf-32":
		return utf32.UTF32(utf32.BigEndian, utf32.UseBOM)
	case "utf-32be":
		return utf32.UTF32(utf32.BigEndian, utf32.IgnoreBOM)
	case "utf-32le":
		return utf32.UTF32(utf32.LittleEndian, utf32.IgnoreBOM)
	}
	return nil
}

// decodeCharset converts text in the named charset to UTF-8. It reports
// false when the charset is unknown or the text is not valid in it. UTF-8
// and US-ASCII are checked directly; other charsets go through
// golang.org/x/text, whose decoders put U+FFFD for invalid input: a result
// holding U+FFFD is accepted only when encoding it again gives back the
// bytes it came from.
func decodeCharset(charset string, b []byte) (string, bool) {
	switch {
	case strings.EqualFold(charset, "utf-8"):
		return decodeUTF8(b)
	case strings.EqualFold(charset, "us-ascii"), strings.EqualFold(charset, "ascii"):
		for _, c := range b {
			if c >= utf8.RuneSelf {
				return "", false
			}
		}
		return string(b), true
	}
	enc := lookupCharset(charset)
	if enc == nil {
		return "", false
	}
	if enc == unicode.UTF8 {
		return decodeUTF8(b)
	}
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		return "", false
	}
	if bytes.ContainsRune(out, utf8.RuneError) {
		back, err := enc.NewEncoder().Bytes(out)
		if err != nil || !bytes.Equal(back, b) {
			return "", false
		}
	}
	return string(out), true
}

// decodeUTF8 returns b as a string if it is valid UTF-8.
func decodeUTF8(b []byte) (string, bool) {
	if !utf8.Valid(b) {
		return "", false
	}
	return string(b), true
}

// unhex returns the value of the hexadecimal digits s[0] and s[1], in
// either case; ok is false if s is shorter or they are not digits.
func unhex(s string) (b byte, ok bool) {
	if len(s) < 2 {
		return 0, false
	}
	for _, c := range []byte(s[:2]) {
		switch {
		case '0' <= c && c <= '9':
			b = b<<4 | (c - '0')
		case 'a' <= c && c <= 'f':
			b = b<<4 | (c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			b = b<<4 | (c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return b, true
}

// A headerWord is an RFC 2047 encoded-word found in a header text.
type headerWord struct {
	start, end int    // the word as sent is s[start:end]
	charset    string // its charset, without a language suffix
	lo, hi     int    // its bytes, B or Q decoded, are raw[lo:hi]
	text       string // the decoded text, when ok
	ok         bool   // whether the word is replaced by text
}

// decodeHeader decodes the RFC 2047 encoded-words of an unstructured header
// text (a Subject, a display name, a Content-Description), in the B and Q
// encodings and in any charset golang.org/x/text knows by its IANA name or
// WHATWG label, UTF-8 and US-ASCII included. White space between two
// adjacent encoded-words is dropped (RFC 2047 §6.2), and an RFC 2231
// language suffix of the charset ("UTF-8*en") is ignored.
//
// Adjacent encoded-words in the same charset are decoded together, so that
// a character whose bytes a mailer split over two words comes out whole.
// An encoded-word that cannot be decoded (an unknown charset, bad base64
// or Q, bytes invalid in the charset) stays exactly as sent, together with
// the white space around it. Text without "=?" is returned unchanged
// without allocating.
func decodeHeader(s string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	var (
		backing [8]headerWord
		words   = backing[:0]
		raw     []byte
		scan    = wordScanner{s: s, close: -1, newline: -1}
	)
	for i := 0; ; {
		j := strings.Index(s[i:], "=?")
		if j < 0 {
			break
		}
		w, q, text, ok := scan.cutWord(i + j)
		w.lo = len(raw)
		if ok {
			if q {
				raw, ok = appendQ(raw, text)
			} else {
				raw, ok = appendB(raw, text)
			}
			w.hi = len(raw)
		}
		if !ok {
			raw = raw[:w.lo]
			i += j + 2
			continue
		}
		words = append(words, w)
		i = w.end
	}
	if len(words) == 0 {
		return s
	}
	for i := 0; i < len(words); {
		j := i + 1
		for j < len(words) && isBlank(s[words[j-1].end:words[j].start]) &&
			strings.EqualFold(words[j-1].charset, words[j].charset) {
			j++
		}
		decodeRun(words[i:j], raw)
		i = j
	}
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for k, w := range words {
		gap := s[last:w.start]
		if k == 0 || !words[k-1].ok || !w.ok || !isBlank(gap) {
			b.WriteString(gap)
		}
		if w.ok {
			b.WriteString(w.text)
		} else {
			b.WriteString(s[w.start:w.end])
		}
		last = w.end
	}
	b.WriteString(s[last:])
	return b.String()
}

// wordScanner finds the encoded-words of a header text. It remembers where
// the next "?=" and the next line break are, so that however many "=?" a
// hostile text holds, each of its bytes is searched a bounded number of
// times.
type wordScanner struct {
	s              string
	close, newline int // the last answers of next; -1 before the first
}

// next returns the index of the first match of find in s at or after from,
// or len(s); *last holds the previous answer, still right if it is at or
// after from, because from only grows.
func (sc *wordScanner) next(from int, last *int, find func(string) int) int {
	if *last < from {
		if i := find(sc.s[from:]); i < 0 {
			*last = len(sc.s)
		} else {
			*last = from + i
		}
	}
	return *last
}

// cutWord parses the encoded-word "=?charset?encoding?text?=" at
// s[start:], which begins with "=?". It returns the word's bounds and
// charset, whether its encoding is Q (else B) and its encoded text; ok is
// false when s[start:] does not hold an encoded-word. The charset is a
// token (no white space or control characters); the text holds no CR or
// LF, and ends at the first "?=".
func (sc *wordScanner) cutWord(start int) (w headerWord, q bool, text string, ok bool) {
	rest := sc.s[start+2:]
	n := strings.IndexByte(rest, '?')
	if n <= 0 || len(rest) < n+3 || rest[n+2] != '?' {
		return w, false, "", false
	}
	charset := rest[:n]
	for _, c := range []byte(charset) {
		if c <= ' ' || c == 0x7f {
			return w, false, "", false
		}
	}
	switch rest[n+1] {
	case 'Q', 'q':
		q = true
	case 'B', 'b':
	default:
		return w, false, "", false
	}
	from := start + 2 + n + 3
	end := sc.next(from, &sc.close, func(t string) int { return strings.Index(t, "?=") })
	if end == len(sc.s) || sc.next(from, &sc.newline, func(t string) int { return strings.IndexAny(t, "\r\n") }) < end {
		return w, false, "", false
	}
	if lang := strings.IndexByte(charset, '*'); lang >= 0 {
		charset = charset[:lang] // RFC 2231 §5
	}
	w = headerWord{start: start, end: end + 2, charset: charset}
	return w, q, sc.s[from:end], true
}

// appendB appends the bytes of the base64 text of a B encoded-word to dst.
// The padding may be missing, as some mailers send it; ok is false for
// anything else that is not base64.
func appendB(dst []byte, text string) (_ []byte, ok bool) {
	data := strings.TrimSuffix(strings.TrimSuffix(text, "="), "=")
	if strings.IndexFunc(data, func(r rune) bool { return !isBase64(r) }) >= 0 {
		return dst, false // refused before it is copied: stops at the first bad byte
	}
	dst, err := base64.RawStdEncoding.AppendDecode(dst, []byte(data))
	return dst, err == nil
}

// isBase64 reports whether r is a letter of the standard base64 alphabet.
func isBase64(r rune) bool {
	return 'A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '+' || r == '/'
}

// appendQ appends the bytes of the text of a Q encoded-word to dst: "_" is
// a space and "=XX" the byte of two hexadecimal digits; other printable
// ASCII characters, and the spaces and tabs some mailers leave in, stand
// for themselves. ok is false for anything else.
func appendQ(dst []byte, text string) (_ []byte, ok bool) {
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == '_':
			dst = append(dst, ' ')
		case c == '=':
			b, ok := unhex(text[i+1:])
			if !ok {
				return dst, false
			}
			dst = append(dst, b)
			i += 2
		case c == ' ' || c == '\t' || ' ' < c && c < 0x7f:
			dst = append(dst, c)
		default:
			return dst, false
		}
	}
	return dst, true
}

// decodeRun decodes a run of adjacent encoded-words in one charset whose
// bytes are raw[run[0].lo:run[len(run)-1].hi]: all together if that is
// valid in the charset (the first word then holds the text and the others
// none), else each word on its own.
func decodeRun(run []headerWord, raw []byte) {
	if text, ok := decodeCharset(run[0].charset, raw[run[0].lo:run[len(run)-1].hi]); ok {
		run[0].text = text
		for i := range run {
			run[i].ok = true
		}
		return
	}
	if len(run) == 1 {
		return
	}
	for i := range run {
		run[i].text, run[i].ok = decodeCharset(run[i].charset, raw[run[i].lo:run[i].hi])
	}
}

// isBlank reports whether s holds only spaces, tabs, CRs and LFs.
func isBlank(s string) bool {
	for _, c := range []byte(s) {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

// A paramSection is one section of an RFC 2231 parameter value:
// name*N=value, or name*N*=value in the extended form (charset'lang'%XX in
// section 0, %XX in the others). name*=value is section 0, extended.
type paramSection struct {
	name  string // the parameter's name as sent, in lower case
	num   int    // the section number
	ext   bool   // whether the value is in the extended form
	value string
}

// decodeParams turns the parameters of a MIME header, as BODYSTRUCTURE
// sends them (name/value pairs in order, names in any case), into a map
// with lower-case names. RFC 2231 values are merged into their name and
// decoded: extended values (name*=charset'lang'%XX...) and continuations
// (name*0, name*1*, ...) in any order, where the charset is named by
// section 0; the language is ignored. Plain values that hold RFC 2047
// encoded-words, as many mailers send in filename="=?UTF-8?B?...?=", are
// decoded with decodeHeader. So are continuations none of whose sections
// is extended.
//
// An RFC 2231 value wins over a plain one of the same name, unless it
// cannot be decoded and the plain one exists. Nothing is an error:
// extended sections in an unknown charset, or not valid in theirs, stay
// as sent (a "%" not followed by two hexadecimal digits stands for
// itself), and so does the value of an extended section 0 without its
// charset'lang' prefix; sections that do not follow on from section 0 are
// kept under their own names ("title*3"); of two parameters with the same
// name, or two sections with the same number, the first is kept. An extended value without a charset is taken as UTF-8,
// of which US-ASCII is a part. nil or empty input gives nil.
func decodeParams(pairs [][2]string) map[string]string {
	if len(pairs) == 0 {
		return nil
	}
	params := make(map[string]string, len(pairs))
	var (
		bases    []string // the names with sections, in order of arrival
		sections map[string][]paramSection
	)
	for _, p := range pairs {
		name := strings.ToLower(p[0])
		base, num, ext, ok := splitParamName(name)
		if !ok {
			if _, dup := params[name]; !dup {
				params[name] = decodeHeader(p[1])
			}
			continue
		}
		if sections == nil {
			sections = make(map[string][]paramSection)
		}
		if sections[base] == nil {
			bases = append(bases, base)
		}
		sections[base] = append(sections[base], paramSection{name, num, ext, p[1]})
	}
	for _, base := range bases {
		secs := sections[base]
		slices.SortStableFunc(secs, func(a, b paramSection) int { return a.num - b.num })
		n := 0 // secs[:n] are the sections 0 to n-1
		for _, sec := range secs {
			switch {
			case sec.num == n:
				secs[n] = sec
				n++
			case sec.num > n: // after a gap
				if _, dup := params[sec.name]; !dup {
					params[sec.name] = sec.value
				}
			}
		}
		if n == 0 {
			continue
		}
		value, ok := joinSections(secs[:n])
		if _, plain := params[base]; ok || !plain {
			params[base] = value
		}
	}
	return params
}

// splitParamName splits the name of an RFC 2231 parameter into its base
// name, section number and whether the value is extended: "title*1*" is
// "title", 1, true; "title*" is "title", 0, true. ok is false for a plain
// name, and for a section number that is not a decimal without leading
// zeros below 10,000.
func splitParamName(name string) (base string, num int, ext, ok bool) {
	base, rest, found := strings.Cut(name, "*")
	if !found || base == "" {
		return "", 0, false, false
	}
	if rest == "" {
		return base, 0, true, true
	}
	rest, ext = strings.CutSuffix(rest, "*")
	if rest == "" || len(rest) > 4 || len(rest) > 1 && rest[0] == '0' {
		return "", 0, false, false
	}
	for _, c := range []byte(rest) {
		if c < '0' || c > '9' {
			return "", 0, false, false
		}
		num = num*10 + int(c-'0')
	}
	return base, num, ext, true
}

// joinSections joins the sections 0, 1, ... of an RFC 2231 value and
// decodes it. Runs of extended sections are percent-decoded together and
// converted from the charset of section 0; a run that cannot be converted
// stays as sent, and ok is then false, as it is when an extended section 0
// lacks its charset'lang' prefix (the value is then all as sent). A value without extended sections
// is decoded with decodeHeader.
func joinSections(secs []paramSection) (value string, ok bool) {
	charset, text := "", secs[0].value
	if secs[0].ext {
		var lang string
		var found bool
		if charset, lang, found = strings.Cut(text, "'"); found {
			_, text, found = strings.Cut(lang, "'")
		}
		if !found { // no charset'lang': all as sent
			var b strings.Builder
			for _, sec := range secs {
				b.WriteString(sec.value)
			}
			return b.String(), false
		}
	}
	if charset == "" {
		charset = "utf-8"
	}
	var (
		b        strings.Builder
		raw      []byte // the bytes of the pending extended sections
		sent     string // and the text they were sent as
		pending  bool
		extended bool
	)
	ok = true
	flush := func() {
		if text, good := decodeCharset(charset, raw); good {
			b.WriteString(text)
		} else {
			b.WriteString(sent)
			ok = false
		}
		raw, sent, pending = raw[:0], "", false
	}
	for i, sec := range secs {
		if !sec.ext {
			if pending {
				flush()
			}
			b.WriteString(sec.value)
			continue
		}
		if i == 0 {
			raw = appendPercent(raw, text)
		} else {
			raw = appendPercent(raw, sec.value)
		}
		sent += sec.value
		pending, extended = true, true
	}
	if pending {
		flush()
	}
	if !extended {
		return decodeHeader(b.String()), ok
	}
	return b.String(), ok
}

// appendPercent appends the bytes of an RFC 2231 extended value to dst:
// "%XX" is the byte of two hexadecimal digits, and any other byte,
// including a "%" without two digits after it, stands for itself.
func appendPercent(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if b, ok := unhex(s[i+1:]); ok {
				dst = append(dst, b)
				i += 2
				continue
			}
		}
		dst = append(dst, s[i])
	}
	return dst
}
