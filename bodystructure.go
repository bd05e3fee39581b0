package imaplib2

import (
	"strconv"
	"strings"
)

// BodyStructure is the MIME structure of a message or of one of its parts,
// from BODYSTRUCTURE or BODY (RFC 3501 §7.4.2). Both the extension data of
// BODYSTRUCTURE and the shorter BODY form parse.
type BodyStructure struct {
	// MediaType is "type/subtype" in lower case: "text/plain",
	// "multipart/mixed", "message/rfc822"; an empty or NIL type or subtype
	// gives RFC 2045's default, text/plain.
	MediaType string
	// Params holds the Content-Type parameters, with lower-case names;
	// RFC 2231 values (name*, name*0*, ... merged into name) and RFC 2047
	// encoded-words are decoded.
	Params            map[string]string
	ID, Description   string // Content-ID; Content-Description, RFC 2047 decoded
	Encoding          string // lower case: "7bit", "base64", ...
	Size              uint32 // octets of the encoded body part
	Lines             uint32 // text/* and message/rfc822 only
	MD5               string
	Disposition       string            // lower case: "attachment", "inline"; "" when none
	DispositionParams map[string]string // like Params
	Language          []string          // as sent
	Location          string
	Envelope          *Envelope        // message/rfc822 only
	Parts             []*BodyStructure // multipart: the children; message/rfc822: its one body
}

// maxBodyDepth bounds the nesting of body parts that a BODYSTRUCTURE may
// have; deeper data is an error, never a stack overflow.
const maxBodyDepth = 64

// Walk calls fn for b and each part below it, depth first, with the part
// specifier to use in BODY[path] (RFC 3501 §6.4.5). A message that is not
// multipart is part "1"; the parts of a multipart are "1", "2", ... (the
// multipart itself, at the top, is ""), and "2.1", "2.2", ... below part 2.
// The body inside a message/rfc822 part numbered N is "N.1" when it is not
// multipart; when it is, its parts are "N.1", "N.2", ... and the multipart
// node itself is "N". When fn returns false, the parts below that node are
// skipped.
func (b *BodyStructure) Walk(fn func(path string, part *BodyStructure) bool) {
	if b.isMultipart() {
		b.walk("", fn)
	} else {
		b.walk("1", fn)
	}
}

func (b *BodyStructure) walk(path string, fn func(string, *BodyStructure) bool) {
	if !fn(path, b) {
		return
	}
	switch {
	case b.isMultipart():
		for i, part := range b.Parts {
			part.walk(joinPath(path, i+1), fn)
		}
	case len(b.Parts) == 1: // message/rfc822
		if inner := b.Parts[0]; inner.isMultipart() {
			inner.walk(path, fn)
		} else {
			inner.walk(joinPath(path, 1), fn)
		}
	}
}

// joinPath returns the specifier of part n below path.
func joinPath(path string, n int) string {
	if path == "" {
		return strconv.Itoa(n)
	}
	return path + "." + strconv.Itoa(n)
}

func (b *BodyStructure) isMultipart() bool { return strings.HasPrefix(b.MediaType, "multipart/") }

// Filename returns the part's file name: the filename parameter of its
// Content-Disposition, else the name parameter of its Content-Type,
// decoded; "" when it has neither.
func (b *BodyStructure) Filename() string {
	if name := b.DispositionParams["filename"]; name != "" {
		return name
	}
	return b.Params["name"]
}

// body reads a body structure: "(" ... ")" of one part or of a multipart.
func (dec *decoder) body(depth int) (*BodyStructure, error) {
	if depth > maxBodyDepth {
		return nil, dec.errorf("body parts nested deeper than %d", maxBodyDepth)
	}
	if err := dec.expect('('); err != nil {
		return nil, err
	}
	b := &BodyStructure{}
	var err error
	if dec.peek() == '(' {
		err = dec.multipart(b, depth)
	} else {
		err = dec.singlePart(b, depth)
	}
	if err != nil {
		return nil, err
	}
	for dec.another() { // extension data beyond what RFC 3501 defines
		if err := dec.skipValue(); err != nil {
			return nil, err
		}
	}
	return b, dec.expect(')')
}

// multipart reads the parts and fields of a multipart body after its "(".
func (dec *decoder) multipart(b *BodyStructure, depth int) error {
	for dec.peek() == '(' {
		part, err := dec.body(depth + 1)
		if err != nil {
			return err
		}
		b.Parts = append(b.Parts, part)
		dec.accept(' ') // some servers put spaces between the parts
	}
	subtype, err := dec.nstringText()
	if err != nil {
		return err
	}
	if subtype == "" {
		subtype = "mixed" // RFC 2046: an unknown multipart is treated as mixed
	}
	b.MediaType = mediaType("multipart", subtype)
	if !dec.another() {
		return nil
	}
	if b.Params, err = dec.params(); err != nil {
		return err
	}
	return dec.partExtensions(b)
}

// singlePart reads the fields of a body part that is not multipart after
// its "(".
func (dec *decoder) singlePart(b *BodyStructure, depth int) error {
	typ, err := dec.nstringText()
	if err != nil {
		return err
	}
	if err := dec.sp(); err != nil {
		return err
	}
	subtype, err := dec.nstringText()
	if err != nil {
		return err
	}
	b.MediaType = mediaType(typ, subtype)
	var description, encoding string
	for _, field := range []func() error{
		dec.sp, func() (err error) { b.Params, err = dec.params(); return err },
		dec.sp, func() (err error) { b.ID, err = dec.nstringText(); return err },
		dec.sp, func() (err error) { description, err = dec.nstringText(); return err },
		dec.sp, func() (err error) { encoding, err = dec.nstringText(); return err },
		dec.sp, func() (err error) { b.Size, err = dec.number(); return err },
	} {
		if err := field(); err != nil {
			return err
		}
	}
	b.Description, b.Encoding = decodeHeader(description), strings.ToLower(encoding)
	switch {
	case b.MediaType == "message/rfc822" || b.MediaType == "message/global":
		if dec.peekAfterSpace() == '(' {
			dec.pos++
			if b.Envelope, err = dec.envelope(); err != nil {
				return err
			}
			if err := dec.sp(); err != nil {
				return err
			}
			inner, err := dec.body(depth + 1)
			if err != nil {
				return err
			}
			b.Parts = []*BodyStructure{inner}
			if err := dec.sp(); err != nil {
				return err
			}
			if b.Lines, err = dec.number(); err != nil {
				return err
			}
		}
	case strings.HasPrefix(b.MediaType, "text/"):
		if c := dec.peekAfterSpace(); '0' <= c && c <= '9' {
			dec.pos++
			if b.Lines, err = dec.number(); err != nil {
				return err
			}
		}
	}
	if !dec.another() {
		return nil
	}
	md5, err := dec.nstringText()
	if err != nil {
		return err
	}
	b.MD5 = md5
	return dec.partExtensions(b)
}

// partExtensions reads the optional disposition, language and location
// that follow the parameters of a multipart or the MD5 of a single part.
func (dec *decoder) partExtensions(b *BodyStructure) error {
	if !dec.another() {
		return nil
	}
	if err := dec.disposition(b); err != nil {
		return err
	}
	if !dec.another() {
		return nil
	}
	if err := dec.language(b); err != nil {
		return err
	}
	if !dec.another() {
		return nil
	}
	location, err := dec.nstringText()
	b.Location = location
	return err // further extensions are skipped by body
}

// disposition reads a body-fld-dsp: NIL or ("type" params).
func (dec *decoder) disposition(b *BodyStructure) error {
	if dec.nil() {
		return nil
	}
	if dec.peek() != '(' { // a bare string, as some servers send
		d, err := dec.nstringText()
		b.Disposition = strings.ToLower(d)
		return err
	}
	if err := dec.expect('('); err != nil {
		return err
	}
	d, err := dec.nstringText()
	if err != nil {
		return err
	}
	b.Disposition = strings.ToLower(d)
	if dec.another() {
		if b.DispositionParams, err = dec.params(); err != nil {
			return err
		}
	}
	return dec.expect(')')
}

// language reads a body-fld-lang: NIL, a string, or a list of strings.
func (dec *decoder) language(b *BodyStructure) error {
	if dec.peek() != '(' {
		lang, err := dec.nstring()
		if lang != nil {
			b.Language = []string{string(lang)}
		}
		return err
	}
	return dec.list(func() error {
		lang, err := dec.nstringText()
		b.Language = append(b.Language, lang)
		return err
	})
}

// params reads a body-fld-param: NIL or ("name" "value" ...), decoded.
func (dec *decoder) params() (map[string]string, error) {
	if dec.nil() {
		return nil, nil
	}
	var pairs [][2]string
	var name string
	odd := false
	err := dec.list(func() error {
		s, err := dec.nstringText()
		if odd {
			pairs = append(pairs, [2]string{name, s})
		}
		name, odd = s, !odd
		return err
	})
	if err == nil && odd {
		err = dec.errorf("parameter %q without a value", name)
	}
	return decodeParams(pairs), err
}

// mediaType returns "type/subtype" in lower case, defaulting to
// text/plain when either is missing.
func mediaType(typ, subtype string) string {
	if typ == "" || subtype == "" {
		return "text/plain"
	}
	return strings.ToLower(typ) + "/" + strings.ToLower(subtype)
}

// peekAfterSpace returns the byte after a space that comes next, or 0:
// what tells an optional field from the next one.
func (dec *decoder) peekAfterSpace() byte {
	if dec.peek() == ' ' && dec.pos+1 < len(dec.text) {
		return dec.text[dec.pos+1]
	}
	return 0
}
