// SPDX-License-Identifier: LGPL-2.1-or-later
/* crd's process-wide context: cr.conf, SlurmUser, the munge socket. */
#include <pwd.h>
#include <slurm/slurm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ctx.h"
#include "log.h"

int ctx_load(struct crd_ctx *ctx, const char *path, char *err, size_t errlen)
{
	memset(ctx, 0, sizeof(*ctx));
	snprintf(ctx->conf_file, sizeof(ctx->conf_file), "%s", path);
	cr_conf_defaults(&ctx->conf);
	return cr_conf_load(&ctx->conf, path, err, errlen);
}

/* One Key=Value line of slurm.conf. */
static void _slurm_line(struct crd_ctx *ctx, char *line)
{
	struct passwd *pw;
	char *v, *p;

	line[strcspn(line, "#\n")] = '\0';
	if (!(v = strchr(line, '=')))
		return;
	*v++ = '\0';
	v[strcspn(v, " \t")] = '\0';
	if (!strcasecmp(line, "SlurmUser") && (pw = getpwnam(v)))
		ctx->slurm_uid = pw->pw_uid;
	if (!strcasecmp(line, "AuthInfo") && (p = strstr(v, "socket=")))
		snprintf(ctx->munge_socket, sizeof(ctx->munge_socket), "%.*s",
			 (int)strcspn(p + 7, ","), p + 7);
}

void ctx_load_slurm(struct crd_ctx *ctx)
{
	const char *path = getenv("SLURM_CONF"), *env = getenv("CR_MUNGE_SOCKET");
	char line[4096], sibling[PATH_MAX], *p;
	FILE *f;

	snprintf(sibling, sizeof(sibling), "%s", ctx->conf_file);
	p = strrchr(sibling, '/');
	snprintf(p ? p + 1 : sibling, sizeof(sibling) - (p ? p + 1 - sibling : 0), "slurm.conf");
	if (!path)
		path = access(sibling, R_OK) == 0 ? sibling : "/etc/slurm/slurm.conf";
	f = fopen(path, "re");
	if (!f) {
		log_warn("cannot read %s (set SLURM_CONF): only root may use crctl, default munge "
			 "socket",
			 path);
	}
	while (f && fgets(line, sizeof(line), f))
		_slurm_line(ctx, line);
	if (f) {
		fclose(f);
		slurm_init(path);
		ctx->slurm_ok = 1;
	}
	if (env)
		snprintf(ctx->munge_socket, sizeof(ctx->munge_socket), "%s", env);
	log_info("%s: SlurmUser uid %u, munge socket %s", path, ctx->slurm_uid,
		 ctx->munge_socket[0] ? ctx->munge_socket : "(default)");
}

void ctx_fini(struct crd_ctx *ctx)
{
	if (ctx->slurm_ok)
		slurm_fini();
	ctx->slurm_ok = 0;
}
