/*
 * CloudFormation (query protocol, XML replies): the change-set life cycle
 * the engine drives (create, describe with every page of changes,
 * execute, delete, list) and the stack reads it waits on (stacks, stack
 * events).  Also pure helpers the engine and the portal share: reading
 * reply pages, a change set's summary, the description's truncation.
 *
 * Calls.  Every cfn_* call below that takes a callback either fails
 * synchronously (returns NULL with *cause set, the callback never called)
 * or returns the operation (aws-op.h: aws_op_cancel until the callback)
 * and calls its callback exactly once, from a later loop iteration.
 * creds and region may be NULL for the client's own.  The inputs are
 * copied: they may be freed when the call returns.
 *
 * Replies.  A callback gets the aws_reply of the last call made (read
 * its error, status, aws, message and request_id; its body has been
 * consumed) and, on success only, a typed result the callback now owns
 * and frees with the matching _free function (NULL on any error).  A
 * reply that cannot be read gives AWS_EREPLY with a message naming the
 * operation and what was wrong.
 */
#ifndef SHIPGATE_SVC_CFN_H
#define SHIPGATE_SVC_CFN_H

#include <stddef.h>
#include <time.h>

#include "aws-client.h"

struct aws_creds;
struct aws_op;
struct aws_op_desc;

/* The operations, for --list-operations; NULL-ended. */
extern const struct aws_op_desc *const cfn_operations[];

/* CloudFormation's limits. */
#define CFN_DESCRIPTION_MAX   1024  /* bytes we send, at most */
#define CFN_TEMPLATE_BODY_MAX 51200 /* inline TemplateBody */

/* Parameters: a value, or the stack's previous one. */
struct cfn_parameter_input {
	const char *key;
	const char *value;	  /* ignored with use_previous */
	int	    use_previous; /* UsePreviousValue=true */
};

struct cfn_tag_input {
	const char *key;
	const char *value;
};

enum cfn_change_set_type {
	CFN_CHANGE_SET_CREATE, /* a stack's first */
	CFN_CHANGE_SET_UPDATE,
};

#define CFN_CAPABILITY_IAM	   0x1
#define CFN_CAPABILITY_NAMED_IAM   0x2
#define CFN_CAPABILITY_AUTO_EXPAND 0x4

struct cfn_create_change_set_input {
	const char		*stack_name;
	const char		*change_set_name;
	enum cfn_change_set_type type;
	const char		*description;	/* truncated to the limit */
	const char		*template_body; /* one of these two */
	const char		*template_url;
	const struct cfn_parameter_input *parameters;
	size_t				  nparameters;
	const struct cfn_tag_input	 *tags;
	size_t				  ntags;
	unsigned int			  capabilities; /* CFN_CAPABILITY_* */
	/* Idempotency: with a token, a retried or repeated call gives the
	   same change set instead of AlreadyExistsException. */
	const char *client_token; /* may be NULL */
	const char *role_arn;	  /* service role; may be NULL */
};

/* What CreateChangeSet answers. */
struct cfn_change_set_ref {
	char *id; /* change set ARN */
	char *stack_id;
};

/* Stack parameters and tags as described. */
struct cfn_parameter {
	char *key;
	char *value;	      /* NULL when absent */
	char *resolved_value; /* SSM parameters; NULL */
	int   use_previous;
};

struct cfn_tag {
	char *key;
	char *value;
};

enum cfn_action {
	CFN_ACTION_UNKNOWN,
	CFN_ACTION_ADD,
	CFN_ACTION_MODIFY,
	CFN_ACTION_REMOVE,
	CFN_ACTION_IMPORT,
	CFN_ACTION_DYNAMIC,
};

enum cfn_replacement {
	CFN_REPLACEMENT_NONE, /* absent (Add, Remove) */
	CFN_REPLACEMENT_TRUE,
	CFN_REPLACEMENT_FALSE,
	CFN_REPLACEMENT_CONDITIONAL,
	CFN_REPLACEMENT_UNKNOWN, /* a value we do not know */
};

/* One of ResourceChange.Details; strings are NULL when absent. */
struct cfn_change_detail {
	char *target_attribute;	   /* Properties, Tags, ... */
	char *target_name;	   /* the property's name */
	char *requires_recreation; /* Never, Conditionally,
						   Always */
	char *evaluation;	   /* Static, Dynamic */
	char *change_source;	   /* DirectModification, ... */
	char *causing_entity;	   /* parameter or resource */
};

/*
 * One of a change set's Changes.  For Type "Resource" (the only type
 * without nested stacks or hooks) logical_id and action are always set;
 * a change of another type keeps only its type, the rest NULL or 0.
 */
struct cfn_resource_change {
	char			 *type; /* Changes.member.Type */
	enum cfn_action		  action;
	char			 *action_text; /* as AWS spelled it */
	char			 *logical_id;
	char			 *physical_id;	 /* NULL for Add */
	char			 *resource_type; /* AWS::ECS::Service */
	enum cfn_replacement	  replacement;
	char			 *replacement_text; /* NULL when absent */
	char			**scope;	    /* Properties, Tags, ... */
	size_t			  nscope;
	struct cfn_change_detail *details;
	size_t			  ndetails;
};

struct cfn_change_set {
	char			   *id;
	char			   *name;
	char			   *stack_id;
	char			   *stack_name;
	char			   *description; /* NULL when absent */
	char			   *status;	 /* CREATE_PENDING ... FAILED */
	char			   *execution_status; /* AVAILABLE, ... */
	char			   *status_reason;    /* NULL when absent */
	struct timespec		    created;
	struct cfn_parameter	   *parameters;
	size_t			    nparameters;
	char			  **capabilities;
	size_t			    ncapabilities;
	struct cfn_tag		   *tags;
	size_t			    ntags;
	struct cfn_resource_change *changes; /* every page's, in order */
	size_t			    nchanges;
};

/* ListChangeSets' summaries. */
struct cfn_change_set_summary {
	char	       *id;
	char	       *name;
	char	       *stack_id;
	char	       *stack_name;
	char	       *status;
	char	       *execution_status;
	char	       *status_reason;
	char	       *description;
	struct timespec created;
};

struct cfn_change_set_list {
	struct cfn_change_set_summary *v;
	size_t			       n;
};

struct cfn_output {
	char *key;
	char *value;
	char *description;
	char *export_name;
};

struct cfn_stack {
	char		     *id;
	char		     *name;
	char		     *description;
	char		     *status;	     /* CREATE_COMPLETE, ... */
	char		     *status_reason; /* NULL when absent */
	char		     *change_set_id; /* the last executed */
	struct timespec	      created;
	struct timespec	      last_updated; /* 0 when never updated */
	struct cfn_parameter *parameters;
	size_t		      nparameters;
	struct cfn_output    *outputs;
	size_t		      noutputs;
	char		    **capabilities;
	size_t		      ncapabilities;
	struct cfn_tag	     *tags;
	size_t		      ntags;
};

struct cfn_stack_list {
	struct cfn_stack *v;
	size_t		  n;
};

struct cfn_stack_event {
	char	       *event_id;
	char	       *stack_id;
	char	       *stack_name;
	char	       *logical_id;
	char	       *physical_id; /* NULL when absent */
	char	       *resource_type;
	char	       *status;	       /* CREATE_FAILED, ... */
	char	       *status_reason; /* NULL when absent */
	struct timespec timestamp;
};

/* Newest first, as CloudFormation gives them. */
struct cfn_stack_event_list {
	struct cfn_stack_event *v;
	size_t			n;
	int			truncated; /* a bound stopped reading */
};

/* How much of a stack's history to read. */
struct cfn_stack_events_bounds {
	size_t		max_events; /* 0: no limit but the pages */
	struct timespec since;	    /* stop at older events;
						   0: no bound */
};

typedef void (*cfn_change_set_ref_cb)(const struct aws_reply *,
    struct cfn_change_set_ref *, void *arg);
typedef void (*cfn_change_set_cb)(const struct aws_reply *,
    struct cfn_change_set *, void *arg);
typedef void (*cfn_change_set_list_cb)(const struct aws_reply *,
    struct cfn_change_set_list *, void *arg);
typedef void (*cfn_stack_list_cb)(const struct aws_reply *,
    struct cfn_stack_list *, void *arg);
typedef void (*cfn_stack_event_list_cb)(const struct aws_reply *,
    struct cfn_stack_event_list *, void *arg);
/* Calls without a result (Execute, Delete). */
typedef void (*cfn_done_cb)(const struct aws_reply *, void *arg);

struct aws_op *cfn_create_change_set(struct aws_client *, struct aws_creds *,
    const char *region, const struct cfn_create_change_set_input *,
    cfn_change_set_ref_cb, void *arg, char **cause);
/* change_set is a name (with stack_name) or an ARN (stack_name NULL). */
struct aws_op *cfn_describe_change_set(struct aws_client *, struct aws_creds *,
    const char *region, const char *stack_name, const char *change_set,
    cfn_change_set_cb, void *arg, char **cause);
/* With a client_request_token, a repeated call (a retry after a lost
   reply, a restart) is accepted and does not execute twice. */
struct aws_op *cfn_execute_change_set(struct aws_client *, struct aws_creds *,
    const char *region, const char *stack_name, const char *change_set,
    const char *client_request_token, cfn_done_cb, void *arg, char **cause);
struct aws_op *cfn_delete_change_set(struct aws_client *, struct aws_creds *,
    const char *region, const char *stack_name, const char *change_set,
    cfn_done_cb, void *arg, char **cause);
/* Whether anything else uses a stack shipgate made (engine-stack.c). */
struct aws_op *cfn_list_change_sets(struct aws_client *, struct aws_creds *,
    const char *region, const char *stack_name, cfn_change_set_list_cb,
    void *arg, char **cause);
/* A stack in UPDATE_ROLLBACK_FAILED rolled back again, skipping the
 * logical ids in skip (nskip of them; resources whose rollback failed);
 * the token makes a retry the same request. */
struct aws_op *cfn_continue_update_rollback(struct aws_client *,
    struct aws_creds *, const char *region, const char *stack_name,
    const char *const *skip, size_t nskip, const char *token, cfn_done_cb,
    void *arg, char **cause);
/* DeleteStack (by name or, safer, by id); the token as above. */
struct aws_op *cfn_delete_stack(struct aws_client *, struct aws_creds *,
    const char *region, const char *stack, const char *token, cfn_done_cb,
    void *arg, char **cause);
/* One stack by name or id, or every stack (all pages) when NULL. */
struct aws_op *cfn_describe_stacks(struct aws_client *, struct aws_creds *,
    const char *region, const char *stack_name, cfn_stack_list_cb, void *arg,
    char **cause);
/* bounds may be NULL: every page (at most AWS_OP_PAGES_MAX). */
struct aws_op *cfn_describe_stack_events(struct aws_client *,
    struct aws_creds *, const char *region, const char *stack_name,
    const struct cfn_stack_events_bounds *, cfn_stack_event_list_cb, void *arg,
    char **cause);

void cfn_change_set_ref_free(struct cfn_change_set_ref *);
void cfn_change_set_free(struct cfn_change_set *);
void cfn_change_set_list_free(struct cfn_change_set_list *);
void cfn_stack_list_free(struct cfn_stack_list *);
void cfn_stack_event_list_free(struct cfn_stack_event_list *);

/*
 * Pure readers of one reply page, used by the calls above, the fuzzer
 * and tests.
 * Each appends what the page holds to the result and sets *next_token
 * (caller frees; NULL on the last page).  0, or -1 and *cause.
 */
int cfn_parse_change_set_page(struct cfn_change_set *, const void *, size_t,
    char **next_token, char **cause);
int cfn_parse_change_set_list_page(struct cfn_change_set_list *, const void *,
    size_t, char **next_token, char **cause);
int cfn_parse_stacks_page(struct cfn_stack_list *, const void *, size_t,
    char **next_token, char **cause);
int cfn_parse_stack_events_page(struct cfn_stack_event_list *, const void *,
    size_t, char **next_token, char **cause);
int cfn_parse_change_set_ref(struct cfn_change_set_ref *, const void *, size_t,
    char **cause);

/* Names and values of the enums: "Add", CFN_ACTION_ADD ... */
const char	    *cfn_action_name(enum cfn_action);
enum cfn_action	     cfn_action_from_name(const char *);
const char	    *cfn_replacement_name(enum cfn_replacement);
enum cfn_replacement cfn_replacement_from_name(const char *);

/*
 * A change set's summary for the engine, the portal and the e-mail:
 * counts by action and the changes that replace a resource (True) or may
 * (Conditional), as indexes into the change set's changes.
 */
struct cfn_change_summary {
	size_t	adds;
	size_t	modifies;
	size_t	removes;
	size_t	imports;
	size_t	dynamics;
	size_t	others;
	size_t *replaced; /* Replacement True */
	size_t	nreplaced;
	size_t *conditional; /* Replacement Conditional */
	size_t	nconditional;
};

void cfn_change_summary_init(struct cfn_change_summary *,
    const struct cfn_change_set *);
void cfn_change_summary_clear(struct cfn_change_summary *);
/* "2 to add, 1 to modify (replaced: TaskDefinition), 0 to remove";
   caller frees. */
char *cfn_change_summary_text(const struct cfn_change_summary *,
    const struct cfn_change_set *);

/*
 * A change set that failed only because the template and parameters
 * change nothing ("The submitted information didn't contain changes..."
 * or "No updates are to be performed."): not a failure for the engine.
 */
int cfn_change_set_is_empty(const struct cfn_change_set *);
/*
 * The statuses of a stack, a change set and a change set's execution as
 * enums, parsed here once from the reply's strings (the strings stay in
 * the structures, for messages); NULL or an unknown status is *_OTHER.
 */
enum cfn_stack_state {
	CFN_STACK_OTHER = 0, /* in progress, review, deleted */
	CFN_STACK_OK,	     /* CREATE_, UPDATE_, IMPORT_COMPLETE */
	CFN_STACK_ROLLBACK,  /* any *ROLLBACK* status: it failed */
	CFN_STACK_FAILED,    /* any other *_FAILED */
};
enum cfn_change_set_state {
	CFN_CHANGE_SET_OTHER = 0, /* *_PENDING, *_IN_PROGRESS */
	CFN_CHANGE_SET_CREATED,	  /* CREATE_COMPLETE */
	CFN_CHANGE_SET_FAILED,	  /* FAILED */
	CFN_CHANGE_SET_DELETED,	  /* DELETE_COMPLETE, DELETE_FAILED */
};
enum cfn_execution_state {
	CFN_EXECUTION_OTHER = 0,
	CFN_EXECUTION_AVAILABLE,
	CFN_EXECUTION_UNAVAILABLE,
	CFN_EXECUTION_STARTED, /* EXECUTE_IN_PROGRESS, _COMPLETE,
					   _FAILED */
	CFN_EXECUTION_OBSOLETE,
};
enum cfn_stack_state	  cfn_stack_state(const char *status);
enum cfn_change_set_state cfn_change_set_state(const char *status);
enum cfn_execution_state  cfn_execution_state(const char *status);
/* FAILED, or a terminal CREATE_COMPLETE / DELETE_*: no more waiting. */
int cfn_change_set_status_final(const char *status);
/* A stack status that ends a wait: *_COMPLETE or *_FAILED. */
int cfn_stack_status_final(const char *status);
/* Success: CREATE_COMPLETE, UPDATE_COMPLETE, IMPORT_COMPLETE. */
int cfn_stack_status_ok(const char *status);
/*
 * The first resource that failed, in time order, among events read
 * newest first (bound them to the operation with `since`): the oldest
 * *_FAILED event of a resource other than the stack itself, or NULL.
 */
const struct cfn_stack_event *cfn_stack_events_first_failure(
    const struct cfn_stack_event_list *);
/* ValidationError "Stack with id X does not exist". */
int cfn_reply_stack_missing(const struct aws_reply *);
/* ChangeSetNotFound (ChangeSetNotFoundException). */
int cfn_reply_change_set_missing(const struct aws_reply *);
/*
 * CreateChangeSet refused because the template and parameters change
 * nothing: a ValidationError "No updates are to be performed." (or
 * "...didn't contain changes"), as some CloudFormation front ends answer
 * at once instead of making a FAILED change set.  No change, not a
 * failure.
 */
int cfn_reply_no_changes(const struct aws_reply *);

/*
 * The description CloudFormation takes: at most max bytes (pass
 * CFN_DESCRIPTION_MAX), cut on a UTF-8 character boundary and ended
 * with "..." when cut; invalid UTF-8 bytes and control characters other
 * than newline and tab become '?'.  Caller frees.
 */
char *cfn_description_truncate(const char *, size_t max);


/*
 * GetTemplate (issue 15): a stack's template as it was deployed
 * (TemplateStage Original: the text as written, JSON or YAML).
 */
struct cfn_template {
	char  *body; /* TemplateBody; "" when absent */
	size_t len;
};
typedef void (*cfn_template_cb)(const struct aws_reply *, struct cfn_template *,
    void *arg);
struct aws_op *cfn_get_template(struct aws_client *, struct aws_creds *,
    const char *region, const char *stack_name, cfn_template_cb, void *arg,
    char **cause);
int	       cfn_parse_template(struct cfn_template *, const void *, size_t,
	       char **cause);
void	       cfn_template_free(struct cfn_template *);

/*
 * Drift detection (issue 15): DetectStackDrift starts it and names it,
 * DescribeStackDriftDetectionStatus says where it stands, and
 * DescribeStackResourceDrifts lists the resources found MODIFIED or
 * DELETED (every page, at most CFN_DRIFT_RESOURCES_MAX resources and
 * CFN_DRIFT_DIFFERENCES_MAX differences a resource: a reply over them
 * is refused).
 */
#define CFN_DRIFT_RESOURCES_MAX	  500
#define CFN_DRIFT_DIFFERENCES_MAX 200
#define CFN_DRIFT_VALUE_MAX	  4096 /* a value kept; longer is cut */

struct cfn_drift_ref {
	char *detection_id; /* StackDriftDetectionId */
};
typedef void (*cfn_drift_ref_cb)(const struct aws_reply *,
    struct cfn_drift_ref *, void *arg);
struct aws_op *cfn_detect_stack_drift(struct aws_client *, struct aws_creds *,
    const char *region, const char *stack_name, cfn_drift_ref_cb, void *arg,
    char **cause);
int	       cfn_parse_drift_ref(struct cfn_drift_ref *, const void *, size_t,
	       char **cause);
void	       cfn_drift_ref_free(struct cfn_drift_ref *);

enum cfn_detection_state {
	CFN_DETECTION_IN_PROGRESS,
	CFN_DETECTION_COMPLETE,
	CFN_DETECTION_FAILED,
};
struct cfn_drift_status {
	enum cfn_detection_state state;		     /* DetectionStatus */
	char			*detection_status;   /* as sent */
	char			*stack_drift_status; /* DRIFTED, IN_SYNC, ... */
	char			*reason;	     /* DetectionStatusReason */
	long long		 drifted_count;	     /* -1: absent */
};
typedef void (*cfn_drift_status_cb)(const struct aws_reply *,
    struct cfn_drift_status *, void *arg);
struct aws_op *cfn_describe_drift_status(struct aws_client *,
    struct aws_creds *, const char *region, const char *detection_id,
    cfn_drift_status_cb, void *arg, char **cause);
int  cfn_parse_drift_status(struct cfn_drift_status *, const void *, size_t,
     char **cause);
void cfn_drift_status_free(struct cfn_drift_status *);

struct cfn_property_difference {
	char *path;	/* PropertyPath */
	char *expected; /* ExpectedValue */
	char *actual;	/* ActualValue */
	char *type;	/* DifferenceType: ADD, REMOVE, NOT_EQUAL */
};
struct cfn_resource_drift {
	char			       *logical_id;
	char			       *physical_id;
	char			       *resource_type;
	char			       *status; /* MODIFIED, DELETED */
	struct cfn_property_difference *diffs;
	size_t				ndiffs;
};
struct cfn_resource_drift_list {
	struct cfn_resource_drift *v;
	size_t			   n;
};
typedef void (*cfn_resource_drift_list_cb)(const struct aws_reply *,
    struct cfn_resource_drift_list *, void *arg);
/* Only the MODIFIED and DELETED resources, every page. */
struct aws_op *cfn_describe_resource_drifts(struct aws_client *,
    struct aws_creds *, const char *region, const char *stack_name,
    cfn_resource_drift_list_cb, void *arg, char **cause);
int	       cfn_parse_resource_drifts_page(struct cfn_resource_drift_list *,
	       const void *, size_t, char **next_token, char **cause);
void	       cfn_resource_drift_list_free(struct cfn_resource_drift_list *);

#endif
