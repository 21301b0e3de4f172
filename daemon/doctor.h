/*
 * shipgatectl doctor: a pre-flight of everything shipgate will need in
 * AWS, with the real configuration: the host's credentials, each
 * environment's role (and that it lands in the configured account), each
 * app's bucket, queue and artifacts bucket, each stack, and each
 * registry.  Ops run it on a new bastion before anything else.
 */
#ifndef SHIPGATE_DOCTOR_H
#define SHIPGATE_DOCTOR_H

#include <stdio.h>

struct config;

/*
 * Runs every check (concurrently, on a loop of its own), prints a
 * pass/fail table (or JSON lines with `json`) to `out`, and returns 0
 * when everything passed, 1 otherwise.
 */
int doctor_run(const struct config *, FILE *out, int json);

#endif
