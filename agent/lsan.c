// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Sanitized builds only (CR_SANITIZE): leaks inside libslurm are not ours.
 * libslurm 22.05's slurm_free_job_info_msg() does not free everything
 * slurm_load_job() unpacked (63 bytes once a job has an AdminComment, which
 * crd now writes), and LeakSanitizer would fail every crctl and crd worker
 * that looks a job up. Leaks with a libslurm frame are suppressed; ours are not.
 */
const char *__lsan_default_suppressions(void); // NOLINT(bugprone-reserved-identifier)

const char *__lsan_default_suppressions(void) // NOLINT(bugprone-reserved-identifier)
{
	return "leak:libslurm.so\n";
}
