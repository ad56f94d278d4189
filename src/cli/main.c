/* ecology: entry point and subcommand dispatch. Help (`ecology help [COMMAND]`,
 * `ecology COMMAND --help`, `-h`) is answered here from the usage table in usage.c, before
 * any command runs, so the command files need nothing for it. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} commands[] = {
    {"model", cmd_model},
    {"generate", cmd_generate},
    {"logits", cmd_logits},
    {"tokenize", cmd_tokenize},
    {"inspect", cmd_inspect},
    {"tasks", cmd_tasks},
    {"train", cmd_train},
    {"rl", cmd_rl},
    {"grads", cmd_grads},
    {"pretrain", cmd_pretrain},
    {"distill", cmd_distill},
    {"keys", cmd_keys},
    {"registry", cmd_registry},
    {"add", cmd_add},
    {"add-remote", cmd_add_remote}, /* issue 22 */
    {"show", cmd_show},
    {"list", cmd_list},
    {"verify", cmd_verify},
    {"export", cmd_export},
    {"lineage", cmd_lineage},
    {"alias", cmd_alias},
    {"events", cmd_events},
    {"merge", cmd_merge},
    {"extract", cmd_extract},
    {"quantize", cmd_quantize},
    {"breed", cmd_breed},
    {"recipe", cmd_recipe},
    {"corpus", cmd_corpus},
    {"eval", cmd_eval},
    {"tokenizer", cmd_tokenizer},
    {"bpb", cmd_bpb},
    {"report", cmd_report},
    {"canary", cmd_canary},
    {"run", cmd_run},
    {"demo", cmd_demo},
    {"archive", cmd_archive},
    {"promote", cmd_promote},
    {"rollback", cmd_rollback},
    {"route", cmd_route},                 /* issue 21 */
    {"chat-template", cmd_chat_template}, /* issue 22 */
    {"serve", cmd_serve},                 /* issue 22 */
};
enum { N_COMMANDS = sizeof commands / sizeof *commands };

static bool is_help_flag(const char *a) { return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0; }

static int unknown_command(const char *cmd) {
    return cli_usage_error("unknown command '%s' (try 'ecology help')", cmd);
}

/* `ecology help [COMMAND [SUBCOMMAND]]`, or `help --commands` (every command, one a line). */
static int help(int argc, char **argv) {
    if (argc < 3) {
        cli_usage_print_all(stdout);
        return CLI_OK;
    }
    if (strcmp(argv[2], "--commands") == 0) { /* every command that runs, groups expanded */
        for (int c = 0; c < N_COMMANDS; c++) {
            const char *name = commands[c].name;
            size_t nl = strlen(name);
            bool any = false;
            for (size_t i = 0; i < cli_usage_count(); i++) {
                const char *u = cli_usage_get(i)->cmd;
                if (strncmp(u, name, nl) == 0 && (u[nl] == ' ' || u[nl] == '\0')) {
                    printf("%s\n", u);
                    any = true;
                }
            }
            if (!any)
                printf("%s\n", name); /* no usage: `ecology help NAME` fails, and a test with it */
        }
        return CLI_OK;
    }
    if (argc > 4) return cli_usage_error("help: expected at most COMMAND SUBCOMMAND");
    if (cli_usage_print(argv[2], argc > 3 ? argv[3] : NULL, stdout) == CLI_OK) return CLI_OK;
    if (argc > 3 && cli_usage_is_group(argv[2]))
        return cli_usage_error("%s: unknown subcommand '%s' (try 'ecology help %s')", argv[2],
                               argv[3], argv[2]);
    return unknown_command(argv[2]);
}

/* `ecology COMMAND [SUB] ... --help|-h` anywhere after the command. */
static int command_help(int argc, char **argv) {
    const char *cmd = argv[1];
    const char *sub =
        argc > 2 && !is_help_flag(argv[2]) && cli_usage_find(cmd, argv[2]) ? argv[2] : NULL;
    if (cli_usage_print(cmd, sub, stdout) == CLI_OK) return CLI_OK;
    return unknown_command(cmd);
}

int main(int argc, char **argv) {
    /* ECOLOGY_LOG is checked before anything runs: a misspelt level is a usage error. */
    if (eco_log_init_from_env() != ECO_STATUS_OK) return cli_usage_error("%s", eco_last_error());
    if (argc < 2) {
        cli_usage_print_all(stderr);
        return CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "help") == 0 || is_help_flag(cmd)) return help(argc, argv);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        if (argc > 2 && !is_help_flag(argv[2]))
            return cli_usage_error("version: unexpected argument '%s'", argv[2]);
        if (argc > 2) return cli_usage_print("version", NULL, stdout);
        printf("ecology %s\n", ECO_VERSION);
        return CLI_OK;
    }
    for (int i = 0; i < N_COMMANDS; i++) {
        if (strcmp(cmd, commands[i].name) != 0) continue;
        /* --help or -h anywhere, unless it is the value of an option ("--text -h") */
        const cli_usage *u = argc > 2 ? cli_usage_find(cmd, argv[2]) : NULL;
        if (!u) u = cli_usage_find(cmd, NULL);
        for (int a = 2; a < argc; a++) {
            if (u && cli_usage_takes_value(u, argv[a])) {
                a++;
                continue;
            }
            if (is_help_flag(argv[a])) return command_help(argc, argv);
        }
        return commands[i].run(argc, argv);
    }
    return unknown_command(cmd);
}
