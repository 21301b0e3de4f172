/*
 * libFuzzer target for the service replies: the first byte picks a
 * reader (CloudFormation pages, ECS, ECR, S3 listings and notifications,
 * SQS messages and attributes, STS, SES),
 * the rest is the reply.  Every *_parse_* reader of a reply is here:
 * a new operation's parser gets a case.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws-sts.h"
#include "svc-cfn.h"
#include "svc-ecr.h"
#include "svc-ecs.h"
#include "svc-s3.h"
#include "svc-sesv2.h"
#include "svc-sqs.h"
#include "xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfn_change_set	       *cs;
	struct cfn_change_set_list     *csl;
	struct cfn_stack_list	       *sl;
	struct cfn_stack_event_list    *el;
	struct cfn_change_set_ref	ref;
	struct cfn_change_summary	sum;
	struct ecs_service_list	       *svl;
	struct ecs_task_definition     *td;
	struct ecr_auth		       *a;
	struct ecr_image_list	       *il;
	struct ecr_image_detail_list   *dl;
	struct ecr_layer_list	       *ll;
	struct s3_object_list	       *ol;
	struct sqs_messages	       *ms;
	struct sqs_queue_attributes    *qa;
	struct s3_notification	       *nc;
	struct sts_assumed_role	       *ar;
	struct sts_caller_identity     *ci;
	struct cfn_template	       *tp;
	struct cfn_drift_ref	       *dr;
	struct cfn_drift_status	       *ds;
	struct cfn_resource_drift_list *rl;
	char			       *next = NULL, *cause = NULL, *s, *t;
	size_t				i;

	if (size < 1)
		return (0);
	switch (data[0] % 23) {
	case 0:
		cs = xcalloc(1, sizeof *cs);
		/* Twice: pages add up. */
		if (cfn_parse_change_set_page(cs, data + 1, size - 1, &next,
			&cause) == 0) {
			free(next);
			next = NULL;
			cfn_parse_change_set_page(cs, data + 1, size - 1, &next,
			    &cause);
		}
		cfn_change_summary_init(&sum, cs);
		s = cfn_change_summary_text(&sum, cs);
		free(s);
		cfn_change_summary_clear(&sum);
		cfn_change_set_is_empty(cs);
		cfn_change_set_free(cs);
		break;
	case 1:
		csl = xcalloc(1, sizeof *csl);
		cfn_parse_change_set_list_page(csl, data + 1, size - 1, &next,
		    &cause);
		cfn_change_set_list_free(csl);
		break;
	case 2:
		sl = xcalloc(1, sizeof *sl);
		cfn_parse_stacks_page(sl, data + 1, size - 1, &next, &cause);
		cfn_stack_list_free(sl);
		break;
	case 3:
		el = xcalloc(1, sizeof *el);
		cfn_parse_stack_events_page(el, data + 1, size - 1, &next,
		    &cause);
		cfn_stack_events_first_failure(el);
		cfn_stack_event_list_free(el);
		break;
	case 4:
		if (cfn_parse_change_set_ref(&ref, data + 1, size - 1,
			&cause) == 0) {
			free(ref.id);
			free(ref.stack_id);
		}
		break;
	case 5:
		svl = xcalloc(1, sizeof *svl);
		ecs_parse_services(svl, data + 1, size - 1, &cause);
		for (i = 0; i < svl->n; i++)
			ecs_service_primary(&svl->v[i]);
		ecs_service_list_free(svl);
		break;
	case 6:
		td = xcalloc(1, sizeof *td);
		ecs_parse_task_definition(td, data + 1, size - 1, &cause);
		ecs_task_definition_free(td);
		break;
	case 7:
		a = xcalloc(1, sizeof *a);
		ecr_parse_authorization_token(a, data + 1, size - 1, &cause);
		ecr_auth_free(a);
		break;
	case 8:
		il = xcalloc(1, sizeof *il);
		ecr_parse_images(il, data + 1, size - 1, &cause);
		ecr_image_list_free(il);
		break;
	case 9:
		dl = xcalloc(1, sizeof *dl);
		ecr_parse_image_details(dl, data + 1, size - 1, &next, &cause);
		ecr_image_detail_list_free(dl);
		break;
	case 10:
		ll = xcalloc(1, sizeof *ll);
		ecr_parse_layers(ll, data + 1, size - 1, &cause);
		ecr_layer_list_free(ll);
		break;
	case 11:
		t = xstrndup((const char *)data + 1, size - 1);
		s = cfn_description_truncate(t, 1 + data[0] % 64);
		if (strlen(s) > 4 + (size_t)(data[0] % 64))
			abort();
		free(s);
		s = ecr_base64_decode(t, NULL);
		free(s);
		free(t);
		break;
	case 12:
		ol = xcalloc(1, sizeof *ol);
		/* Twice: pages add up, and the bound is reached. */
		if (s3_parse_list_page(ol, data + 1, size - 1, 100, &next,
			&cause) == 0) {
			free(next);
			next = NULL;
			s3_parse_list_page(ol, data + 1, size - 1, 100, &next,
			    &cause);
		}
		if (ol->n > 100)
			abort();
		s3_object_list_free(ol);
		break;
	case 13:
		ms = xcalloc(1, sizeof *ms);
		sqs_parse_messages(ms, data + 1, size - 1, &cause);
		sqs_messages_free(ms);
		break;
	case 14:
		ar = xcalloc(1, sizeof *ar);
		sts_parse_assume_role(ar, data + 1, size - 1, &cause);
		sts_assumed_role_free(ar);
		break;
	case 15:
		ci = xcalloc(1, sizeof *ci);
		sts_parse_caller_identity(ci, data + 1, size - 1, &cause);
		sts_caller_identity_free(ci);
		break;
	case 16:
		sesv2_parse_send_email(data + 1, size - 1, &next, &cause);
		break;
	case 17:
		nc = xcalloc(1, sizeof *nc);
		/* A refused reply may hold the entry that failed (freed
		   all the same); an accepted one names every queue. */
		if (s3_parse_notification(nc, data + 1, size - 1, &cause) == 0)
			for (i = 0; i < nc->n; i++)
				if (nc->v[i].kind == S3_NOTIFY_QUEUE &&
				    nc->v[i].destination == NULL)
					abort();
		s3_notification_free(nc);
		break;
	case 18:
		qa = xcalloc(1, sizeof *qa);
		sqs_parse_queue_attributes(qa, data + 1, size - 1, &cause);
		sqs_queue_attributes_free(qa);
		break;
	case 19:
		tp = xcalloc(1, sizeof *tp);
		cfn_parse_template(tp, data + 1, size - 1, &cause);
		cfn_template_free(tp);
		break;
	case 20:
		dr = xcalloc(1, sizeof *dr);
		cfn_parse_drift_ref(dr, data + 1, size - 1, &cause);
		cfn_drift_ref_free(dr);
		break;
	case 21:
		ds = xcalloc(1, sizeof *ds);
		cfn_parse_drift_status(ds, data + 1, size - 1, &cause);
		cfn_drift_status_free(ds);
		break;
	case 22:
		rl = xcalloc(1, sizeof *rl);
		cfn_parse_resource_drifts_page(rl, data + 1, size - 1, &next,
		    &cause);
		cfn_resource_drift_list_free(rl);
		break;
	}
	free(next);
	free(cause);
	return (0);
}
