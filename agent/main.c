/* SPDX-License-Identifier: GPL-2.0-or-later */
/* medic: the command table. Each command is short; the engine does the work. */
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "caps.h"
#include "daemon.h"
#include "lock.h"
#include "engine.h"
#include "prometheus.h"

#define MEDIC_VERSION "0.1.0"

enum {
        OPT_STATE_DIR = 0x100,
        OPT_AUDIT_LOG,
        OPT_JSON,
        OPT_WAIT,
        OPT_DRY_RUN,
        OPT_ONLY,
        OPT_KEEP_GOING,
        OPT_CONFIRM_WITHIN,
        OPT_FORCE,
        OPT_VERSION,
        OPT_SYSCTL_INTERVAL,
        OPT_FIGHT_LIMIT,
        OPT_PROMETHEUS,
        OPT_INTERVAL,
        OPT_PROBE,
};

/* Which command takes which command-specific option. */
#define F_DRY_RUN (1u << 0)
#define F_ONLY (1u << 1)
#define F_KEEP_GOING (1u << 2)
#define F_CONFIRM (1u << 3)
#define F_FORCE (1u << 4)
#define F_SYSCTL_INTERVAL (1u << 5)
#define F_PROMETHEUS (1u << 6)
#define F_INTERVAL (1u << 7)
#define F_PROBE (1u << 8)

struct command {
        const char *name;
        int (*fn)(struct run *run, unsigned id);
        unsigned flags;   /* options it takes */
        int id_arg;       /* 0 none, 1 optional, 2 required */
        const char *args;
        const char *help;
};

static int caps_result(struct run *run, int r) {
        if (r < 0)
                report_error(&run->rep, "cannot limit capabilities: %s; nothing was read", strerror(-r));
        return r;
}

/* Read-only commands that read the host (audit, apply --dry-run, rollback --dry-run): the
 * read capabilities are held but not effective while the policy is read, then only those
 * the policy's reads use are kept (caps.h); never a write capability. */
static int read_only_caps(struct run *run, bool before_policy) {
        return caps_result(run, before_policy ? caps_hold(CAPS_READ_ALL) : caps_limit(caps_for_reading(run->policy)));
}

static int load_read_only(struct run *run) {
        if (read_only_caps(run, true) < 0 || run_load_policy(run, false) < 0 || read_only_caps(run, false) < 0)
                return -1;
        return 0;
}

static int cmd_validate(struct run *run, unsigned id _unused_) {
        struct json_object *j = NULL;

        if (caps_result(run, caps_drop_all()) < 0)
                return EXIT_CANNOT;
        if (run_load_policy(run, false) < 0)
                return EXIT_CANNOT;
        policy_to_json(run->policy, &j);
        run->rep.extra = json_object_new_object();
        json_object_object_add(run->rep.extra, "normalised", j);
        if (!run->opt->json) {
                json_print_yaml(stdout, j, 0);
                report_message(&run->rep, "# %s: valid (%zu actions, %zu targets, sha256 %s)", run->policy->path,
                               run->policy->n_actions, run->policy->n_targets, run->policy->sha256);
        }
        return EXIT_NOTHING;
}

static int cmd_audit(struct run *run, unsigned id _unused_) {
        if (load_read_only(run) < 0)
                return EXIT_CANNOT;
        return engine_audit(run);
}

static int cmd_diagnose(struct run *run, unsigned id _unused_) {
        if (load_read_only(run) < 0)
                return EXIT_CANNOT;
        return engine_diagnose(run);
}

static int cmd_apply(struct run *run, unsigned id _unused_) {
        int r;

        if (run->opt->dry_run) {
                if (load_read_only(run) < 0)
                        return EXIT_CANNOT;
                return engine_audit(run);
        }
        if (run_load_policy(run, true) < 0 || engine_check_only(run) < 0 || run_lock(run) < 0 ||
            run_open_audit_log(run) < 0 || engine_limit_caps(run) < 0)
                return EXIT_CANNOT;
        r = engine_recover(run);
        if (r < 0)
                return EXIT_CANNOT;
        return engine_apply(run);
}

/* rollback and confirm work from the journal; a policy that exists is still held to the
 * same ownership rule as for apply. */
static int check_policy_if_present(struct run *run) {
        _cleanup_free_ char *why = NULL;
        struct stat st;

        if (stat(run->opt->policy_path, &st) < 0)
                return 0;
        if (geteuid() == 0 && policy_check_perms(run->opt->policy_path, &why) == -EPERM) {
                report_error(&run->rep, "refusing policy: %s; a policy is root for whoever can write it (chown root, chmod go-w)", why);
                return -EPERM;
        }
        return 0;
}

static int cmd_rollback(struct run *run, unsigned id) {
        if (run->opt->dry_run) {
                if (read_only_caps(run, false) < 0)
                        return EXIT_CANNOT;
                return engine_rollback(run, id);
        }
        if (check_policy_if_present(run) < 0 || run_lock(run) < 0 || run_open_audit_log(run) < 0 ||
            engine_limit_caps(run) < 0)
                return EXIT_CANNOT;
        if (engine_recover(run) < 0)
                return EXIT_CANNOT;
        return engine_rollback(run, id);
}

static int cmd_confirm(struct run *run, unsigned id) {
        if (check_policy_if_present(run) < 0 || run_lock(run) < 0 || run_open_audit_log(run) < 0 ||
            engine_limit_caps(run) < 0)
                return EXIT_CANNOT;
        if (engine_recover(run) < 0)
                return EXIT_CANNOT;
        return engine_confirm(run, id);
}

static int cmd_history(struct run *run, unsigned id _unused_) {
        if (caps_result(run, caps_drop_all()) < 0)
                return EXIT_CANNOT;
        return engine_history(run);
}

static int cmd_show(struct run *run, unsigned id) {
        if (caps_result(run, caps_drop_all()) < 0)
                return EXIT_CANNOT;
        return engine_show(run, id);
}

static int cmd_agent(struct run *run, unsigned id _unused_) {
        uint64_t keep = 0;
        int r;

        if (run_load_policy(run, true) < 0 || run_lock(run) < 0)
                return EXIT_CANNOT;
        /* The agent may repair any kind of its policy, and a reload may bring others: it
         * keeps what every kind needs, nothing more, for as long as it runs. */
        for (size_t i = 0; action_registry[i]; i++)
                keep |= action_caps_all(action_registry[i]);
        r = caps_limit(keep | caps_for_reading(run->policy));
        if (r < 0) {
                report_error(&run->rep, "cannot limit capabilities: %s", strerror(-r));
                return EXIT_CANNOT;
        }
        /* The lock is taken per repair from now on, so a CLI apply or rollback can run. */
        lock_release(&run->lock_fd);
        return agent_run(run);
}

static const struct command commands[] = {
        { "validate", cmd_validate, 0, 0, "", "parse and check the policy; print it normalised" },
        { "audit", cmd_audit, F_ONLY | F_INTERVAL | F_PROMETHEUS, 0, "[--only NAME]... [--interval SECONDS] [--prometheus FILE]",
          "compare host and policy, run the checks; change nothing" },
        { "apply", cmd_apply, F_DRY_RUN | F_ONLY | F_KEEP_GOING | F_CONFIRM, 0,
          "[--dry-run] [--only NAME]... [--keep-going] [--confirm-within SECONDS]", "bring the host in line with the policy" },
        { "confirm", cmd_confirm, 0, 1, "[ID]", "keep a change set applied with --confirm-within" },
        { "rollback", cmd_rollback, F_DRY_RUN | F_FORCE, 1, "[ID] [--dry-run] [--force]",
          "undo change set ID (default: the latest applied)" },
        { "agent", cmd_agent, F_SYSCTL_INTERVAL | F_PROMETHEUS, 0, "[--sysctl-interval SECONDS] [--fight-limit N] [--prometheus FILE]",
          "stay running and repair drift as the kernel announces it" },
        { "diagnose", cmd_diagnose, F_ONLY | F_INTERVAL | F_PROBE, 0, "[--probe disk] [--interval SECONDS]",
          "run only the policy's checks; change nothing" },
        { "history", cmd_history, 0, 0, "", "list change sets" },
        { "show", cmd_show, 0, 2, "ID", "one change set: every item with before/after" },
};

static void usage(FILE *f) {
        fprintf(f, "usage: medic [-p|--policy PATH] [--state-dir DIR] [--audit-log FILE] [--json] [-v|-q]\n"
                   "             [--wait SECONDS] COMMAND [ARGS]\n\ncommands:\n");
        for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
                _cleanup_free_ char *c = xasprintf("%s %s", commands[i].name, commands[i].args);
                fprintf(f, "  %-44s %s\n", c, commands[i].help);
        }
        fprintf(f, "\nexit codes: 0 nothing to do, 2 drift found / changes made, 4 failures,\n"
                   "            6 changes and failures, 1 could not run (nothing changed), 64 usage\n");
}

static char *join_argv(int argc, char **argv) {
        char *s = xstrdup("medic");
        for (int i = 1; i < argc; i++) {
                char *n = xasprintf("%s %s", s, argv[i]);
                free(s);
                s = n;
        }
        return s;
}

static int parse_seconds(const char *s, long max, long *ret) {
        unsigned long long v;
        if (parse_uint(s, (unsigned long long) max, &v) < 0)
                return -EINVAL;
        *ret = (long) v;
        return 0;
}

/* audit --prometheus FILE: also when the audit could not run (medic_last_run_ok 0). A file
 * that cannot be written is an error: a stale one would report an old audit as current. */
static int write_prometheus(struct run *run) {
        struct set_counts sets = {};
        _cleanup_free_ char *why = NULL;

        prometheus_count_sets(run->opt->state_dir, &sets);
        if (prometheus_write(run->opt->prometheus, &run->rep, &sets, -1, &why) < 0) {
                report_error(&run->rep, "cannot write the metrics file %s", why);
                return EXIT_CANNOT;
        }
        return run->rep.exit;
}

int main(int argc, char **argv) {
        static const struct option longopts[] = {
                { "policy", required_argument, NULL, 'p' },
                { "state-dir", required_argument, NULL, OPT_STATE_DIR },
                { "audit-log", required_argument, NULL, OPT_AUDIT_LOG },
                { "json", no_argument, NULL, OPT_JSON },
                { "verbose", no_argument, NULL, 'v' },
                { "quiet", no_argument, NULL, 'q' },
                { "wait", required_argument, NULL, OPT_WAIT },
                { "dry-run", no_argument, NULL, OPT_DRY_RUN },
                { "only", required_argument, NULL, OPT_ONLY },
                { "keep-going", no_argument, NULL, OPT_KEEP_GOING },
                { "confirm-within", required_argument, NULL, OPT_CONFIRM_WITHIN },
                { "force", no_argument, NULL, OPT_FORCE },
                { "sysctl-interval", required_argument, NULL, OPT_SYSCTL_INTERVAL },
                { "fight-limit", required_argument, NULL, OPT_FIGHT_LIMIT },
                { "prometheus", required_argument, NULL, OPT_PROMETHEUS },
                { "interval", required_argument, NULL, OPT_INTERVAL },
                { "probe", required_argument, NULL, OPT_PROBE },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, OPT_VERSION },
                {},
        };
        _cleanup_free_ char *command_line = NULL;
        struct options opt = {
                .fight_limit = -1,
                .state_dir = "/var/lib/medic",
                .audit_log = "/var/log/medic/audit.jsonl",
        };
        const struct command *cmd = NULL;
        unsigned used = 0, id = 0;
        struct run run;
        long wait_s = 0;
        int c, code;

        test_hooks_scrub();
        /* Recorded in the journal as typed: getopt_long permutes argv. */
        opt.command_line = command_line = join_argv(argc, argv);
        opt.policy_path = policy_default_path();
        while ((c = getopt_long(argc, argv, "p:vqh", longopts, NULL)) >= 0) {
                switch (c) {
                case 'p':
                        opt.policy_path = optarg;
                        opt.policy_given = true;
                        break;
                case OPT_STATE_DIR:
                        opt.state_dir = optarg;
                        break;
                case OPT_AUDIT_LOG:
                        opt.audit_log = optarg;
                        break;
                case OPT_JSON:
                        opt.json = true;
                        break;
                case 'v':
                        opt.verbosity++;
                        break;
                case 'q':
                        opt.verbosity = -1;
                        break;
                case OPT_WAIT:
                        if (parse_seconds(optarg, 86400, &wait_s) < 0) {
                                fprintf(stderr, "medic: --wait: '%s' is not a number of seconds (0-86400)\n", optarg);
                                return EXIT_USAGE;
                        }
                        opt.wait_ms = wait_s * 1000;
                        break;
                case OPT_DRY_RUN:
                        opt.dry_run = true;
                        used |= F_DRY_RUN;
                        break;
                case OPT_ONLY:
                        strv_push(&opt.only, xstrdup(optarg));
                        used |= F_ONLY;
                        break;
                case OPT_KEEP_GOING:
                        opt.keep_going = true;
                        used |= F_KEEP_GOING;
                        break;
                case OPT_CONFIRM_WITHIN:
                        if (parse_seconds(optarg, 86400, &opt.confirm_within) < 0 || opt.confirm_within == 0) {
                                fprintf(stderr, "medic: --confirm-within: '%s' is not a number of seconds (1-86400)\n", optarg);
                                return EXIT_USAGE;
                        }
                        used |= F_CONFIRM;
                        break;
                case OPT_SYSCTL_INTERVAL:
                        if (parse_seconds(optarg, 86400, &opt.sysctl_interval_s) < 0 || opt.sysctl_interval_s == 0) {
                                fprintf(stderr, "medic: --sysctl-interval: '%s' is not a number of seconds (1-86400)\n", optarg);
                                return EXIT_USAGE;
                        }
                        used |= F_SYSCTL_INTERVAL;
                        break;
                case OPT_FIGHT_LIMIT:
                        if (parse_seconds(optarg, 1000, &opt.fight_limit) < 0) {
                                fprintf(stderr, "medic: --fight-limit: '%s' is not a count (0-1000, 0 = never stop)\n", optarg);
                                return EXIT_USAGE;
                        }
                        used |= F_SYSCTL_INTERVAL;
                        break;
                case OPT_PROMETHEUS:
                        opt.prometheus = optarg;
                        used |= F_PROMETHEUS;
                        break;
                case OPT_INTERVAL: {
                        char *end;
                        errno = 0;
                        opt.interval_s = strtod(optarg, &end);
                        /* 0: leave out the checks that sample (a fast audit). */
                        if (errno || end == optarg || *end || !(opt.interval_s == 0 || (opt.interval_s >= 0.1 && opt.interval_s <= 60))) {
                                fprintf(stderr, "medic: --interval: '%s' is not a number of seconds (0.1-60, or 0 to skip the checks that sample)\n", optarg);
                                return EXIT_USAGE;
                        }
                        opt.no_sampling = opt.interval_s == 0;
                        used |= F_INTERVAL;
                        break;
                }
                case OPT_PROBE:
                        if (!streq(optarg, "disk")) {
                                fprintf(stderr, "medic: --probe: '%s' is not a probe (disk)\n", optarg);
                                return EXIT_USAGE;
                        }
                        opt.probe_disk = true;
                        used |= F_PROBE;
                        break;
                case OPT_FORCE:
                        opt.force = true;
                        used |= F_FORCE;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                case OPT_VERSION:
                        printf("medic %s\n", MEDIC_VERSION);
                        return 0;
                default:
                        usage(stderr);
                        return EXIT_USAGE;
                }
        }
        if (optind >= argc) {
                usage(stderr);
                return EXIT_USAGE;
        }
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (streq(argv[optind], commands[i].name))
                        cmd = &commands[i];
        if (!cmd) {
                fprintf(stderr, "medic: unknown command '%s'\n", argv[optind]);
                usage(stderr);
                return EXIT_USAGE;
        }
        if (used & ~cmd->flags) {
                fprintf(stderr, "medic: %s does not take %s\n", cmd->name,
                        used & F_DRY_RUN && !(cmd->flags & F_DRY_RUN) ? "--dry-run"
                        : used & F_ONLY && !(cmd->flags & F_ONLY) ? "--only"
                        : used & F_KEEP_GOING && !(cmd->flags & F_KEEP_GOING) ? "--keep-going"
                        : used & F_CONFIRM && !(cmd->flags & F_CONFIRM) ? "--confirm-within"
                        : used & F_SYSCTL_INTERVAL && !(cmd->flags & F_SYSCTL_INTERVAL) ? "--sysctl-interval or --fight-limit"
                        : used & F_PROMETHEUS && !(cmd->flags & F_PROMETHEUS) ? "--prometheus"
                        : used & F_INTERVAL && !(cmd->flags & F_INTERVAL) ? "--interval"
                        : used & F_PROBE && !(cmd->flags & F_PROBE) ? "--probe"
                                                                          : "--force");
                return EXIT_USAGE;
        }
        if (opt.dry_run && opt.confirm_within) {
                fprintf(stderr, "medic: --dry-run and --confirm-within do not go together\n");
                return EXIT_USAGE;
        }
        int nargs = argc - optind - 1;
        if (nargs > (cmd->id_arg ? 1 : 0) || (cmd->id_arg == 2 && nargs < 1)) {
                fprintf(stderr, "medic: usage: medic %s %s\n", cmd->name, cmd->args);
                return EXIT_USAGE;
        }
        if (nargs == 1) {
                unsigned long long v;
                if (parse_uint(argv[optind + 1], UINT_MAX, &v) < 0 || v == 0) {
                        fprintf(stderr, "medic: %s: '%s' is not a change set id\n", cmd->name, argv[optind + 1]);
                        return EXIT_USAGE;
                }
                id = (unsigned) v;
        }

        run_init(&run, &opt, cmd->name);
        code = cmd->fn(&run, id);
        /* Exit 1 promises nothing changed. If this run restored an interrupted or expired
         * set before it stopped, it did change the host: changes and a failure. */
        if (code == EXIT_CANNOT)
                for (size_t i = 0; i < run.rep.n_rows; i++)
                        if (run.rep.rows[i].status == ROW_RESTORED || run.rep.rows[i].status == ROW_CHANGED)
                                code = EXIT_BOTH;
        run.rep.exit = code;
        if (opt.prometheus && cmd->fn == cmd_audit)
                code = run.rep.exit = write_prometheus(&run);
        report_print(&run.rep, opt.json, opt.verbosity);
        run_done(&run);
        strv_free(opt.only);
        return code;
}
