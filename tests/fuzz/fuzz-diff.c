/*
 * What a stage changes, read from a release's template (untrusted): the
 * first byte picks the reader.  0: the template's parameters as YAML,
 * then the rows against an empty stack and itself; 1: as JSON; 2: the
 * input split at its first NUL into two texts, their unified diff.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "diff-params.h"
#include "diff-text.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diff_tparams tp;
	struct diff_params  d;
	struct diff_text    t;
	struct config_kvs   none = { NULL, 0 };
	const char	   *s = (const char *)data + 1;
	const char	   *nul;
	char		   *cause = NULL;
	size_t		    n;

	if (size < 1)
		return (0);
	n = size - 1;
	switch (data[0] % 3) {
	case 0:
	case 1:
		if (diff_template_params(data[0] % 3 == 0 ? "t.yaml" : "t.json",
			s, n, &tp, &cause) == 0) {
			diff_params(NULL, &none, &tp, &d);
			diff_params_free(&d);
			diff_params(&none, &none, &tp, &d);
			diff_params_free(&d);
			diff_tparams_free(&tp);
		}
		free(cause);
		break;
	case 2:
		nul = memchr(s, '\0', n);
		if (nul == NULL)
			nul = s + n / 2;
		diff_text(s, (size_t)(nul - s), nul, n - (size_t)(nul - s),
		    DIFF_TEXT_CONTEXT, &t);
		diff_text_free(&t);
		break;
	}
	return (0);
}
