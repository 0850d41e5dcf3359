/* SPDX-License-Identifier: ISC */
/*
 * transcript.c - chapters, WebVTT captions and plain text made from a
 * recording's timed segments.  Pure functions: no I/O, no clock, no
 * randomness, no locale; the same segments always give the same bytes.
 * Not a speech recogniser and not a general text library: the word
 * splitting below is made for titles and topic shifts, nothing more.
 *
 * TEXT CLEANING (captions, plain text, fallback titles)
 *
 *   A segment's text is read as UTF-8.  A byte sequence that is not
 *   well-formed UTF-8 becomes U+FFFD, one for each maximal ill-formed
 *   part (as WHATWG's decoder does).  Control characters (U+0000-U+001F,
 *   U+007F-U+009F, so tabs, CR and LF too) and U+2028/U+2029 count as
 *   spaces; a run of spaces becomes one; spaces at either end are
 *   dropped.  A NULL text is empty.  The text is a C string: a NUL ends
 *   it.
 *
 * CHAPTERS (mr_chapters)
 *
 *   Words.  A segment's words are its runs of letters and digits, where a
 *   letter is an ASCII letter or any character from U+00C0 up, except
 *   punctuation and symbols (U+00D7, U+00F7, U+2000-U+206F,
 *   U+3000-U+303F, U+FEFF, U+FFFD and malformed bytes).  They are
 *   lowercased (ASCII, and the Latin-1 capitals U+00C0-U+00DE, so that
 *   "Über" is "über"), then dropped when shorter than 3 bytes, made of
 *   digits only, or on the stopword list: common English and German
 *   function words and the fillers of talk ("okay", "yeah", "halt",
 *   "genau").
 *
 *   Candidate boundaries.  Every gap between two consecutive segments is
 *   a candidate; a boundary there starts a chapter at the later segment.
 *   Each gap gets:
 *   - pause: the start of the later segment minus the latest end of
 *     any segment before it, at least 0;
 *   - similarity: the cosine of the word-count vectors of the text
 *     before the gap and the text after it.  Each side takes the
 *     segments that start within 60 s of the gap (WINDOW_MS), from the
 *     gap outwards, at least one segment, and stops once it holds 300
 *     words (WINDOW_WORDS) or 100 segments (WINDOW_SEGS).  No words on
 *     a side: similarity 0;
 *   - depth (TextTiling, Hearst 1997): how far the similarity dips at
 *     the gap: (highest similarity reached climbing to the left while it
 *     keeps rising - similarity) + (the same to the right).  0 to 2;
 *   - score: depth + pause / 5 s, the pause counting up to 10 s
 *     (PAUSE_CAP_MS), so a pause adds at most 2.
 *   A gap qualifies when its pause is 5 s or more (PAUSE_MS), or when
 *   its depth is at least the larger of 0.1 (DEPTH_MIN) and mean - sd/2
 *   of all the gaps' depths (TextTiling's liberal cutoff).
 *
 *   Choice.  Qualifying gaps are taken by score, highest first (on equal
 *   scores the earlier gap first), and each is kept if it leaves every
 *   chapter at least 60 s long (CHAPTER_MIN_MS), measured from a
 *   chapter's start to the next chapter's start, the last one to the
 *   latest end of any segment.  At most max(1, duration / 180 s),
 *   rounded down, chapters are made (MS_PER_CHAPTER), the duration from the
 *   first segment's start to the latest end, so a transcript shorter
 *   than 6 minutes has one chapter, and so has one with no gap that
 *   qualifies.  A long pause thus makes a boundary whenever the length
 *   and count limits allow it.
 *
 *   Starts.  A chapter starts at its first segment's start (negative
 *   times taken as 0); the first chapter at the first segment's start,
 *   not at 0.
 *
 *   Titles.  A chapter's title is made of its own words: each word gets
 *   tf * idf, tf its count in the chapter, idf = ln(1 + C / df), C the
 *   number of chapters and df the number of chapters it occurs in.  The
 *   3 best words (TITLE_WORDS; on equal scores the one that comes first)
 *   that fit in 48 bytes (TITLE_MAX, with the spaces between them) are
 *   written in the order they first occur in the chapter, separated by
 *   spaces, the first letter capitalised (ASCII and Latin-1).  When the
 *   best word alone is longer than 48 bytes, the title is that word cut
 *   at a character boundary.  A chapter with fewer than 2 distinct words
 *   of its own is titled with the first 6 words (FALLBACK_WORDS) of its
 *   first segment that has text, cleaned as above and cut at a character
 *   boundary to 48 bytes; with no text at all, "Chapter N" (N counting
 *   from 1).
 *
 * CAPTIONS (mr_vtt_write), as https://www.w3.org/TR/webvtt1/ asks:
 *
 *   "WEBVTT", then for each segment with text a blank line and a cue: its
 *   identifier (the segment's 1-based index), its timings
 *   "hh:mm:ss.ttt --> hh:mm:ss.ttt" (hours two digits or more), and
 *   its text cleaned as above on one line, with "&", "<" and ">" written
 *   as "&amp;", "&lt;" and "&gt;" (so no "-->" and no tag).  Segments
 *   whose cleaned text is empty are left out.  Negative times count as
 *   0; a start before the previous cue's start is moved up to it (cues
 *   must not go back in time); an end not after the start becomes the
 *   start + 1 ms, which keeps the words in the file.  Times past
 *   INT64_MAX / 4 ms (TIME_MAX, some 73 million years) are taken as that.
 *
 * PLAIN TEXT (mr_transcript_txt)
 *
 *   "[hh:mm:ss] text" and a newline for each segment with text, the
 *   start cut down to the second (negative as 0), the text cleaned as
 *   above.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "transcript.h"

#define WINDOW_MS	60000	/* text compared on each side of a gap */
#define WINDOW_WORDS	300
#define WINDOW_SEGS	100
#define PAUSE_MS	5000	/* a pause this long always qualifies */
#define PAUSE_CAP_MS	10000
#define DEPTH_MIN	0.1
#define CHAPTER_MIN_MS	60000
#define MS_PER_CHAPTER	180000
#define WORD_MIN	3	/* bytes */
#define TITLE_WORDS	3
#define TITLE_MAX	48	/* bytes */
#define FALLBACK_WORDS	6
#define TIME_MAX	(INT64_MAX / 4)	/* room for sums */

static const char *const stopwords[] = {
	/* English */
	"about", "above", "actually", "after", "again", "against", "all",
	"also", "and", "another", "any", "anything", "are", "aren", "around",
	"back", "because", "been", "before", "being", "below", "between",
	"both", "but", "can", "cannot", "could", "couldn", "did", "didn",
	"does", "doesn", "doing", "don", "done", "down", "during", "each",
	"else", "even", "ever", "every", "everything", "few", "for", "from",
	"further", "get", "gets", "getting", "going", "gonna", "good", "got",
	"guess", "had", "hadn", "has", "hasn", "have", "haven", "having",
	"her", "here", "hers", "herself", "him", "himself", "his", "how",
	"into", "isn", "its", "itself", "just", "kind", "know", "let", "lets",
	"like", "look", "lot", "lots", "make", "many", "may", "maybe", "mean",
	"might", "more", "most", "much", "must", "myself", "need", "needs",
	"nor", "not", "nothing", "now", "off", "okay", "once", "one", "only",
	"other", "others", "our", "ours", "ourselves", "out", "over", "own",
	"people", "per", "pretty", "put", "quite", "really", "right", "said",
	"same", "say", "says", "see", "shall", "she", "should", "shouldn",
	"since", "some", "something", "sort", "still", "such", "sure", "take",
	"than", "thank", "thanks", "that", "the", "their", "theirs", "them",
	"themselves", "then", "there", "these", "they", "thing", "things",
	"think", "this", "those", "through", "too", "under", "until", "upon",
	"very", "want", "wanna", "was", "wasn", "way", "well", "went", "were",
	"weren", "what", "when", "where", "which", "while", "who", "whom",
	"why", "will", "with", "won", "would", "wouldn", "yeah", "yes", "yet",
	"you", "your", "yours", "yourself", "yourselves",
	/* German */
	"aber", "alle", "allem", "allen", "aller", "alles", "als", "also",
	"ander", "andere", "anderem", "anderen", "anderer", "anderes", "auch",
	"auf", "aus", "bei", "beim", "bin", "bis", "bist", "bitte", "damit",
	"dann", "das", "dass", "da\xc3\x9f", "dein", "deine", "dem", "den",
	"denke", "denn", "der", "des", "deshalb", "dessen", "dich", "die",
	"dies", "diese", "diesem", "diesen", "dieser", "dieses", "dir", "doch",
	"dort", "durch", "eben", "eigentlich", "ein", "eine", "einem", "einen",
	"einer", "eines", "einfach", "einige", "einmal", "etwas", "euch",
	"euer", "eure", "f\xc3\xbcr", "ganz", "gegen", "geht", "genau",
	"gerade", "gewesen", "gibt", "glaube", "gut", "hab", "habe", "haben",
	"halt", "hat", "hatte", "hatten", "hier", "hin", "hinter", "ich",
	"ihm", "ihn", "ihr", "ihre", "ihrem", "ihren", "ihrer", "ihres",
	"immer", "ist", "jede", "jedem", "jeden", "jeder", "jedes", "jetzt",
	"kann", "kein", "keine", "keinem", "keinen", "keiner", "k\xc3\xb6nnen",
	"k\xc3\xb6nnte", "mal", "man", "manche", "mein", "meine", "mich",
	"mir", "mit", "muss", "musste", "m\xc3\xbcssen", "nach", "naja",
	"nicht", "nichts", "noch", "nun", "nur", "oder", "ohne", "schon",
	"sehr", "sein", "seine", "seinem", "seinen", "seiner", "sich", "sie",
	"sind", "solche", "soll", "sollte", "sondern", "sonst",
	"\xc3\xbc" "ber",
	"und", "uns", "unser", "unsere", "unter", "viel", "vielleicht", "vom",
	"von", "vor", "wann", "war", "waren", "warum", "was", "weg", "weil",
	"weiter", "welche", "welchem", "welchen", "welcher", "welches", "wenn",
	"wer", "werde", "werden", "wie", "wieder", "will", "wir", "wird",
	"wirklich", "wirst", "wollen", "wollte", "w\xc3\xa4hrend",
	"w\xc3\xbcrde", "w\xc3\xbcrden", "zum", "zur", "zwar", "zwischen"
};

/* An interned word: id is its index among the content words, -1 a stop. */
struct tword {
	const char	*s;
	size_t		 len;
	int		 id;
};

struct vocab {
	struct tword	*tab;
	size_t		 mask;
	const char	**names;	/* by id */
	size_t		*lens;
	size_t		 nids;
};

/*
 * The code point at s (len bytes left, len > 0) and the bytes it takes:
 * U+FFFD for the maximal ill-formed part of a sequence.
 */
static size_t
utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned char	 c = s[0], lo = 0x80, hi = 0xbf;
	size_t		 need, i;
	uint32_t	 v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		v = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		v = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		*cp = 0xfffd;
		return 1;
	}
	for (i = 1; i <= need; i++) {
		if (i >= len || s[i] < lo || s[i] > hi) {
			*cp = 0xfffd;
			return i;
		}
		v = v << 6 | (s[i] & 0x3f);
		lo = 0x80;
		hi = 0xbf;
	}
	*cp = v;
	return need + 1;
}

static int
is_space(uint32_t cp)
{
	return cp <= 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 ||
	    cp == 0x2029;
}

static int
is_letter(uint32_t cp)
{
	if (cp < 0x80)
		return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
		    (cp >= '0' && cp <= '9');
	if (cp < 0xc0 || cp == 0xd7 || cp == 0xf7 || cp == 0xfeff ||
	    cp == 0xfffd)
		return 0;
	if ((cp >= 0x2000 && cp <= 0x206f) || (cp >= 0x3000 && cp <= 0x303f))
		return 0;
	return 1;
}

static int
put_cp(struct mr_buf *b, uint32_t cp)
{
	unsigned char	 u[4];
	size_t		 n;

	if (cp < 0x80) {
		u[0] = cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = 0xc0 | cp >> 6;
		u[1] = 0x80 | (cp & 0x3f);
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = 0xe0 | cp >> 12;
		u[1] = 0x80 | (cp >> 6 & 0x3f);
		u[2] = 0x80 | (cp & 0x3f);
		n = 3;
	} else {
		u[0] = 0xf0 | cp >> 18;
		u[1] = 0x80 | (cp >> 12 & 0x3f);
		u[2] = 0x80 | (cp >> 6 & 0x3f);
		u[3] = 0x80 | (cp & 0x3f);
		n = 4;
	}
	return mr_buf_add(b, u, n);
}

/*
 * Appends s cleaned (see the top of the file) to b, with & < > as
 * character references when escape is set.  -1 when b is full.
 */
static int
clean_text(struct mr_buf *b, const char *s, int escape)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 len, i, k;
	uint32_t		 cp;
	int			 space = 0, any = 0, rc;

	if (s == NULL)
		return 0;
	len = strlen(s);
	for (i = 0; i < len; i += k) {
		k = utf8_next(p + i, len - i, &cp);
		if (is_space(cp)) {
			space = any;
			continue;
		}
		if (space && mr_buf_add(b, " ", 1) == -1)
			goto fail;
		space = 0;
		any = 1;
		if (escape && cp == '&')
			rc = mr_buf_adds(b, "&amp;");
		else if (escape && cp == '<')
			rc = mr_buf_adds(b, "&lt;");
		else if (escape && cp == '>')
			rc = mr_buf_adds(b, "&gt;");
		else
			rc = put_cp(b, cp);
		if (rc == -1)
			goto fail;
	}
	return 0;
fail:
	return -1;
}

static int64_t
clamp_time(int64_t ms)
{
	if (ms < 0)
		return 0;
	return ms > TIME_MAX ? TIME_MAX : ms;
}

static int
add_time(struct mr_buf *b, int64_t ms, int millis)
{
	int	 rc;

	rc = mr_buf_addf(b, "%02" PRId64 ":%02d:%02d", ms / 3600000,
	    (int)(ms / 60000 % 60), (int)(ms / 1000 % 60));
	if (rc == 0 && millis)
		rc = mr_buf_addf(b, ".%03d", (int)(ms % 1000));
	return rc;
}

/*
 * WebVTT of n segments into b (see the top of the file).  On -1 (b's cap
 * or memory) b may hold a part of the file.
 */
int
mr_vtt_write(struct mr_buf *b, const struct mr_seg *seg, size_t n)
{
	struct mr_buf	 t;
	int64_t		 start, end, prev = 0;
	size_t		 i;

	mr_buf_init(&t, b->cap);
	if (mr_buf_adds(b, "WEBVTT\n") == -1)
		goto fail;
	for (i = 0; i < n; i++) {
		mr_buf_reset(&t);
		if (clean_text(&t, seg[i].text, 1) == -1)
			goto fail;
		if (t.len == 0)
			continue;
		start = clamp_time(seg[i].start_ms);
		if (start < prev)
			start = prev;
		prev = start;
		end = clamp_time(seg[i].end_ms);
		if (end <= start)
			end = start + 1;
		if (mr_buf_addf(b, "\n%zu\n", i + 1) == -1 ||
		    add_time(b, start, 1) == -1 ||
		    mr_buf_adds(b, " --> ") == -1 ||
		    add_time(b, end, 1) == -1 ||
		    mr_buf_adds(b, "\n") == -1 ||
		    mr_buf_add(b, t.data, t.len) == -1 ||
		    mr_buf_adds(b, "\n") == -1)
			goto fail;
	}
	mr_buf_free(&t);
	return 0;
fail:
	mr_buf_free(&t);
	return -1;
}

/*
 * Plain text of n segments into b (see the top of the file).  On -1 (b's
 * cap or memory) b may hold a part of the text.
 */
int
mr_transcript_txt(struct mr_buf *b, const struct mr_seg *seg, size_t n)
{
	struct mr_buf	 t;
	size_t		 i;

	mr_buf_init(&t, b->cap);
	for (i = 0; i < n; i++) {
		mr_buf_reset(&t);
		if (clean_text(&t, seg[i].text, 0) == -1)
			goto fail;
		if (t.len == 0)
			continue;
		if (mr_buf_adds(b, "[") == -1 ||
		    add_time(b, clamp_time(seg[i].start_ms), 0) == -1 ||
		    mr_buf_adds(b, "] ") == -1 ||
		    mr_buf_add(b, t.data, t.len) == -1 ||
		    mr_buf_adds(b, "\n") == -1)
			goto fail;
	}
	mr_buf_free(&t);
	return 0;
fail:
	mr_buf_free(&t);
	return -1;
}

/* ---- chapters ---------------------------------------------------------- */

/* A square root without libm: Newton's method from above, to the end. */
static double
root(double x)
{
	double	 r, s;

	if (x <= 0)
		return 0;
	r = x > 1 ? x : 1;
	for (;;) {
		s = (r + x / r) / 2;
		if (s >= r)
			return r;
		r = s;
	}
}

/* The natural logarithm of x >= 1, without libm. */
static double
ln(double x)
{
	double	 z, z2, term, sum = 0;
	int	 k = 0, i;

	while (x > 2) {
		x /= 2;
		k++;
	}
	z = (x - 1) / (x + 1);
	z2 = z * z;
	term = z;
	for (i = 1; i < 60; i += 2) {
		sum += term / i;
		term *= z2;
	}
	return 2 * sum + k * 0.69314718055994530942;
}

static uint32_t
hash(const char *s, size_t len)
{
	uint32_t	 h = 2166136261u;
	size_t		 i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

/* The slot of s in v's table: the word, or the empty slot it would take. */
static struct tword *
slot(struct vocab *v, const char *s, size_t len)
{
	size_t	 i;

	for (i = hash(s, len) & v->mask;; i = (i + 1) & v->mask) {
		if (v->tab[i].s == NULL)
			return &v->tab[i];
		if (v->tab[i].len == len && memcmp(v->tab[i].s, s, len) == 0)
			return &v->tab[i];
	}
}

/*
 * The next word of s (len bytes) from *pos: sets *start and returns its
 * length, 0 at the end.
 */
static size_t
next_word(const char *s, size_t len, size_t *pos, size_t *start)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = *pos, k = 0;
	uint32_t		 cp = 0;

	while (i < len) {
		k = utf8_next(p + i, len - i, &cp);
		if (is_letter(cp))
			break;
		i += k;
	}
	*start = i;
	while (i < len) {
		k = utf8_next(p + i, len - i, &cp);
		if (!is_letter(cp))
			break;
		i += k;
	}
	*pos = i;
	return i - *start;
}

/* Lowercases w (ASCII and Latin-1 capitals) in place. */
static void
lower(char *w, size_t len)
{
	unsigned char	*p = (unsigned char *)w;
	size_t		 i;

	for (i = 0; i < len; i++) {
		if (p[i] >= 'A' && p[i] <= 'Z')
			p[i] += 'a' - 'A';
		else if (p[i] == 0xc3 && i + 1 < len && p[i + 1] >= 0x80 &&
		    p[i + 1] <= 0x9e && p[i + 1] != 0x97) {
			p[i + 1] += 0x20;
			i++;
		}
	}
}

/* Capitalises the first letter of w (ASCII and Latin-1) in place. */
static void
upper_first(char *w)
{
	unsigned char	*p = (unsigned char *)w;

	if (p[0] >= 'a' && p[0] <= 'z')
		p[0] -= 'a' - 'A';
	else if (p[0] == 0xc3 && p[1] >= 0xa0 && p[1] <= 0xbe && p[1] != 0xb7)
		p[1] -= 0x20;
}

static int
all_digits(const char *w, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (w[i] < '0' || w[i] > '9')
			return 0;
	return 1;
}

/*
 * The words of the n segments as ids into v: the words of segment i are
 * ids[off[i]] up to ids[off[i + 1]].
 */
static int
words(struct mr_arena *a, const struct mr_seg *seg, size_t n,
    struct vocab *v, int **idsp, size_t **offp)
{
	struct tword	*t;
	size_t		 i, j, len, pos, start, wl, total = 0, size;
	size_t		*off;
	int		*ids;
	char		*w;

	for (i = 0; i < n; i++) {
		if (seg[i].text == NULL)
			continue;
		len = strlen(seg[i].text);
		pos = 0;
		while (next_word(seg[i].text, len, &pos, &start) > 0)
			total++;
	}
	size = 64;
	while (size < 2 * (total + MR_NELEM(stopwords)))
		size *= 2;
	v->mask = size - 1;
	v->nids = 0;
	if ((v->tab = mr_calloc(a, size, sizeof(*v->tab))) == NULL ||
	    (v->names = mr_calloc(a, total + 1, sizeof(*v->names))) == NULL ||
	    (v->lens = mr_calloc(a, total + 1, sizeof(*v->lens))) == NULL ||
	    (ids = mr_calloc(a, total + 1, sizeof(*ids))) == NULL ||
	    (off = mr_calloc(a, n + 1, sizeof(*off))) == NULL)
		goto fail;
	for (i = 0; i < MR_NELEM(stopwords); i++) {
		len = strlen(stopwords[i]);
		t = slot(v, stopwords[i], len);
		t->s = stopwords[i];
		t->len = len;
		t->id = -1;
	}
	j = 0;
	for (i = 0; i < n; i++) {
		off[i] = j;
		if (seg[i].text == NULL)
			continue;
		len = strlen(seg[i].text);
		if ((w = mr_strndup(a, seg[i].text, len)) == NULL)
			goto fail;
		lower(w, len);
		pos = 0;
		while ((wl = next_word(w, len, &pos, &start)) > 0) {
			if (wl < WORD_MIN || all_digits(w + start, wl))
				continue;
			t = slot(v, w + start, wl);
			if (t->s == NULL) {
				t->s = w + start;
				t->len = wl;
				t->id = v->nids;
				v->names[v->nids] = t->s;
				v->lens[v->nids++] = wl;
			}
			if (t->id >= 0)
				ids[j++] = t->id;
		}
	}
	off[n] = j;
	*idsp = ids;
	*offp = off;
	return 0;
fail:
	return -1;
}

/*
 * The cosine similarity of the words around gap g (between segments g
 * and g + 1); cb and ca are zeroed scratch counts, one per id, left
 * zeroed.
 */
static double
similarity(const struct mr_seg *seg, size_t n, const int *ids,
    const size_t *off, size_t g, unsigned *cb, unsigned *ca)
{
	int64_t		 t = clamp_time(seg[g + 1].start_ms);
	size_t		 i, k, lo, hi, nw, ns;
	double		 dot = 0, sb = 0, sa = 0;

	/* Before: segments lo..g. */
	nw = ns = 0;
	for (lo = g + 1; lo > 0; lo--) {
		i = lo - 1;
		if (i != g && (clamp_time(seg[i].start_ms) < t - WINDOW_MS ||
		    nw >= WINDOW_WORDS || ns >= WINDOW_SEGS))
			break;
		nw += off[i + 1] - off[i];
		ns++;
	}
	for (k = off[lo]; k < off[g + 1]; k++)
		sb += 2.0 * cb[ids[k]]++ + 1;
	/* After: segments g + 1..hi - 1. */
	nw = ns = 0;
	for (hi = g + 1; hi < n; hi++) {
		if (hi != g + 1 &&
		    (clamp_time(seg[hi].start_ms) >= t + WINDOW_MS ||
		    nw >= WINDOW_WORDS || ns >= WINDOW_SEGS))
			break;
		nw += off[hi + 1] - off[hi];
		ns++;
	}
	for (k = off[g + 1]; k < off[hi]; k++) {
		sa += 2.0 * ca[ids[k]]++ + 1;
		dot += cb[ids[k]];
	}
	for (k = off[lo]; k < off[g + 1]; k++)
		cb[ids[k]] = 0;
	for (k = off[g + 1]; k < off[hi]; k++)
		ca[ids[k]] = 0;
	if (sb == 0 || sa == 0)
		return 0;
	return dot / (root(sb) * root(sa));
}

struct gap {
	size_t	 g;
	double	 score;
};

static int
by_score(const void *x, const void *y)
{
	const struct gap	*a = x, *b = y;

	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	return a->g < b->g ? -1 : a->g > b->g;
}

/*
 * The chosen gaps, in order, into *cut (*ncut of them): see "Choice" at
 * the top of the file.
 */
static int
choose(struct mr_arena *a, const struct mr_seg *seg, size_t n,
    const int *ids, const size_t *off, size_t nids, size_t **cutp,
    size_t *ncutp)
{
	struct gap	*gaps;
	double		*sim, *depth, peak, mean = 0, var = 0, cutoff;
	int64_t		 first, last = 0, latest, pause, t, tp, tn, maxch;
	unsigned	*cb, *ca;
	size_t		 g, k, i, ng = n - 1, ncand = 0, ncut = 0, *cut;

	first = clamp_time(seg[0].start_ms);
	for (i = 0; i < n; i++)
		if (clamp_time(seg[i].end_ms) > last)
			last = clamp_time(seg[i].end_ms);
	if (last < first)
		last = first;
	maxch = (last - first) / MS_PER_CHAPTER;
	if ((sim = mr_calloc(a, ng + 1, sizeof(*sim))) == NULL ||
	    (depth = mr_calloc(a, ng + 1, sizeof(*depth))) == NULL ||
	    (gaps = mr_calloc(a, ng + 1, sizeof(*gaps))) == NULL ||
	    (cut = mr_calloc(a, ng + 1, sizeof(*cut))) == NULL ||
	    (cb = mr_calloc(a, nids + 1, sizeof(*cb))) == NULL ||
	    (ca = mr_calloc(a, nids + 1, sizeof(*ca))) == NULL)
		goto fail;
	*cutp = cut;
	*ncutp = 0;
	if (maxch <= 1 || ng == 0)
		return 0;
	for (g = 0; g < ng; g++)
		sim[g] = similarity(seg, n, ids, off, g, cb, ca);
	for (g = 0; g < ng; g++) {
		peak = sim[g];
		for (k = g; k > 0 && sim[k - 1] >= peak; k--)
			peak = sim[k - 1];
		depth[g] = peak - sim[g];
		peak = sim[g];
		for (k = g; k + 1 < ng && sim[k + 1] >= peak; k++)
			peak = sim[k + 1];
		depth[g] += peak - sim[g];
		mean += depth[g];
	}
	mean /= ng;
	for (g = 0; g < ng; g++)
		var += (depth[g] - mean) * (depth[g] - mean);
	cutoff = mean - root(var / ng) / 2;
	if (cutoff < DEPTH_MIN)
		cutoff = DEPTH_MIN;
	latest = clamp_time(seg[0].end_ms);
	for (g = 0; g < ng; g++) {
		t = clamp_time(seg[g + 1].start_ms);
		pause = t > latest ? t - latest : 0;
		if (clamp_time(seg[g + 1].end_ms) > latest)
			latest = clamp_time(seg[g + 1].end_ms);
		if (pause < PAUSE_MS && depth[g] < cutoff)
			continue;
		gaps[ncand].g = g;
		gaps[ncand++].score = depth[g] +
		    (double)(pause < PAUSE_CAP_MS ? pause : PAUSE_CAP_MS) /
		    PAUSE_MS;
	}
	qsort(gaps, ncand, sizeof(*gaps), by_score);
	for (i = 0; i < ncand && (int64_t)ncut + 1 < maxch; i++) {
		g = gaps[i].g;
		t = clamp_time(seg[g + 1].start_ms);
		for (k = 0; k < ncut && cut[k] < g; k++)
			;
		tp = k > 0 ? clamp_time(seg[cut[k - 1] + 1].start_ms) : first;
		tn = k < ncut ? clamp_time(seg[cut[k] + 1].start_ms) : last;
		if (t - tp < CHAPTER_MIN_MS || tn - t < CHAPTER_MIN_MS)
			continue;
		memmove(cut + k + 1, cut + k, (ncut - k) * sizeof(*cut));
		cut[k] = g;
		ncut++;
	}
	*ncutp = ncut;
	return 0;
fail:
	return -1;
}

/* The fallback title of segments [from, to): see "Titles" at the top. */
static char *
fallback(struct mr_arena *a, const struct mr_seg *seg, size_t from,
    size_t to, size_t nch)
{
	struct mr_buf	 b;
	size_t		 i, k, nw = 0;
	char		*s = NULL, *title;

	mr_buf_init(&b, 1 << 20);
	for (i = from; i < to && b.len == 0; i++) {
		mr_buf_reset(&b);
		if (clean_text(&b, seg[i].text, 0) == -1) {
			mr_buf_reset(&b);
			break;
		}
	}
	if (b.len > 0) {
		for (k = 0; k < b.len; k++)
			if (b.data[k] == ' ' && ++nw == FALLBACK_WORDS)
				break;
		b.data[k] = '\0';
		if ((s = mr_utf8_clip(a, b.data, TITLE_MAX)) != NULL) {
			k = strlen(s);
			while (k > 0 && s[k - 1] == ' ')
				s[--k] = '\0';
		}
	}
	mr_buf_free(&b);
	if (s != NULL && *s != '\0')
		title = s;
	else
		title = mr_printf(a, "Chapter %zu", nch + 1);
	if (title != NULL)
		upper_first(title);
	return title;
}

struct cand {
	int	 id;
	size_t	 first;		/* position of its first occurrence */
	double	 score;
};

static int
cand_score(const void *x, const void *y)
{
	const struct cand	*a = x, *b = y;

	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	return a->first < b->first ? -1 : a->first > b->first;
}

static int
cand_first(const void *x, const void *y)
{
	const struct cand	*a = x, *b = y;

	return a->first < b->first ? -1 : a->first > b->first;
}

/*
 * Titles of the nch chapters (segments start[c] up to start[c + 1], the
 * last one to n) into ch[c].title.
 */
static int
titles(struct mr_arena *a, const struct mr_seg *seg, size_t n,
    const int *ids, const size_t *off, const struct vocab *v,
    struct mr_chapter *ch, size_t nch)
{
	struct cand	*cs;
	size_t		*df, *tf, *seen, c, k, from, to, nc, pick, len, used;
	size_t		 i;
	char		*title, *p;

	if ((df = mr_calloc(a, v->nids + 1, sizeof(*df))) == NULL ||
	    (tf = mr_calloc(a, v->nids + 1, sizeof(*tf))) == NULL ||
	    (seen = mr_calloc(a, v->nids + 1, sizeof(*seen))) == NULL ||
	    (cs = mr_calloc(a, v->nids + 1, sizeof(*cs))) == NULL)
		goto fail;
	for (c = 0; c < nch; c++) {
		from = off[ch[c].first];
		to = off[c + 1 < nch ? ch[c + 1].first : n];
		for (k = from; k < to; k++)
			if (seen[ids[k]] != c + 1) {
				seen[ids[k]] = c + 1;
				df[ids[k]]++;
			}
	}
	for (c = 0; c < nch; c++) {
		from = off[ch[c].first];
		to = off[c + 1 < nch ? ch[c + 1].first : n];
		nc = 0;
		for (k = from; k < to; k++) {
			if (tf[ids[k]]++ == 0) {
				cs[nc].id = ids[k];
				cs[nc++].first = k;
			}
		}
		for (i = 0; i < nc; i++)
			cs[i].score = tf[cs[i].id] *
			    ln(1 + (double)nch / df[cs[i].id]);
		for (k = from; k < to; k++)
			tf[ids[k]] = 0;
		if (nc < 2) {
			ch[c].title = fallback(a, seg, ch[c].first,
			    c + 1 < nch ? ch[c + 1].first : n, c);
			if (ch[c].title == NULL)
				goto fail;
			continue;
		}
		qsort(cs, nc, sizeof(*cs), cand_score);
		if (v->lens[cs[0].id] > TITLE_MAX) {
			title = mr_strndup(a, v->names[cs[0].id],
			    v->lens[cs[0].id]);
			if (title == NULL ||
			    (title = mr_utf8_clip(a, title, TITLE_MAX)) == NULL)
				goto fail;
			upper_first(title);
			ch[c].title = title;
			continue;
		}
		/* The best that fit, moved to the front. */
		pick = 0;
		used = 0;
		for (i = 0; i < nc && pick < TITLE_WORDS; i++) {
			len = v->lens[cs[i].id] + (pick > 0);
			if (used + len > TITLE_MAX)
				continue;
			used += len;
			cs[pick++] = cs[i];
		}
		qsort(cs, pick, sizeof(*cs), cand_first);
		if ((title = mr_alloc(a, used + 1)) == NULL)
			goto fail;
		p = title;
		for (i = 0; i < pick; i++) {
			if (i > 0)
				*p++ = ' ';
			memcpy(p, v->names[cs[i].id], v->lens[cs[i].id]);
			p += v->lens[cs[i].id];
		}
		*p = '\0';
		upper_first(title);
		ch[c].title = title;
	}
	return 0;
fail:
	return -1;
}

/*
 * Chapters of n segments into *out (an array in a, *nout of them): see
 * the top of the file.  No chapter for n == 0, at least one otherwise.
 * Working memory comes from a too, a few times the size of the text.
 * -1 when a is out of memory.
 */
int
mr_chapters(struct mr_arena *a, const struct mr_seg *seg, size_t n,
    struct mr_chapter **out, size_t *nout)
{
	struct vocab		 v;
	struct mr_chapter	*ch;
	size_t			*off, *cut, ncut, c;
	int			*ids;

	*out = NULL;
	*nout = 0;
	if (n == 0)
		return 0;
	if (words(a, seg, n, &v, &ids, &off) == -1 ||
	    choose(a, seg, n, ids, off, v.nids, &cut, &ncut) == -1)
		goto fail;
	if ((ch = mr_calloc(a, ncut + 1, sizeof(*ch))) == NULL)
		goto fail;
	ch[0].first = 0;
	for (c = 0; c < ncut; c++)
		ch[c + 1].first = cut[c] + 1;
	for (c = 0; c <= ncut; c++)
		ch[c].start_ms = clamp_time(seg[ch[c].first].start_ms);
	if (titles(a, seg, n, ids, off, &v, ch, ncut + 1) == -1)
		goto fail;
	*out = ch;
	*nout = ncut + 1;
	return 0;
fail:
	return -1;
}
