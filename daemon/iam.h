/*
 * What shipgated's AWS calls need from IAM: every operation row of the
 * svc-*.c modules and aws-sts.c, the ECR registry API calls of image
 * copies, and what AWS checks on its behalf (CloudFormation reading a
 * template by URL), as the lines `shipgated --list-operations` prints
 * for the least-privilege policies to be checked against:
 *
 *	ACTION<TAB>ACCOUNT<TAB>RESOURCE
 *
 * ACCOUNT is tools, environment or registry (aws-op.h's AWS_ACCOUNT_*),
 * RESOURCE a kind (aws-op.h's struct aws_grant).  Sorted (bytewise),
 * each line once.  The format is a contract: shipgated(8).
 */
#ifndef SHIPGATE_IAM_H
#define SHIPGATE_IAM_H

#include <stddef.h>
#include <stdio.h>

struct aws_grant;
struct aws_op_desc;

/* Every operation table, NULL-ended. */
extern const struct aws_op_desc *const *const iam_operation_tables[];
/* Every table of grants made outside aws-op, NULL-ended. */
extern const struct aws_grant *const iam_grant_tables[];

/* "tools", "environment", "registry" for one AWS_ACCOUNT_* bit. */
const char *iam_account_name(unsigned int);

/* The lines, sorted, each once (without newlines); *n set.  Caller
   frees with iam_lines_free. */
char **iam_lines(size_t *n);
void   iam_lines_free(char **, size_t);

/* Prints the lines; 0, or -1 when the stream failed. */
int iam_print(FILE *);

#endif
