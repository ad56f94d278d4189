/*
 * The `ecology` command: argument parsing and calls into the library, nothing more.
 * Exit status: 0 success, 1 failure (the library's message is printed), 2 usage error.
 */
#ifndef ECO_CLI_H
#define ECO_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "ecology/core.h"
#include "ecology/tensor.h"

enum {
    CLI_OK = 0,
    CLI_FAIL = 1,
    CLI_USAGE = 2,
    CLI_REJECTED = 3, /* a gate refused the inputs (merge: incompatible parents) */
    CLI_UNTRUSTED = 4 /* verify: intact, not trusted-signed */
};

/* Prints "ecology: <msg>" and returns CLI_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "ecology: <what>: <library message>" and returns CLI_FAIL. */
int cli_fail(eco_status st, const char *what);

/* A tiny option parser: flags are --name VALUE or --name=VALUE, or boolean --name. */
#define CLI_OPT(n, v)                                                                              \
    { .name = (n), .takes_value = (v) }

typedef struct cli_opt {
    const char *name; /* without dashes */
    bool takes_value;
    const char *value;   /* set when present (boolean flags get "1"); the last when repeated */
    bool repeated_ok;    /* may be given more than once (otherwise a usage error) */
    const char **values; /* caller's array of max_values, or NULL: cli_parse stores every value
                          * of the option there in order (pointers into argv), counting them in
                          * n_values; more than max_values is a usage error */
    int max_values;
    int n_values;
} cli_opt;

/* Parses argv[start..argc); positional arguments are collected in pos (at most max_pos).
 * Unknown flags, missing values and too many positionals are usage errors (printed);
 * returns CLI_OK or CLI_USAGE. */
int cli_parse(int argc, char **argv, int start, cli_opt *opts, int n_opts, const char **pos,
              int max_pos, int *n_pos);
const char *cli_get(const cli_opt *opts, int n_opts, const char *name);
/* Value parsers: usage error (printed) naming the flag on a bad value. */
int cli_parse_int(const char *flag, const char *s, int64_t lo, int64_t hi, int64_t *out);
int cli_parse_float(const char *flag, const char *s, double lo, double hi, double *out);
int cli_parse_u64(const char *flag, const char *s, uint64_t *out);
struct eco_infer_request;
/* --threads (eco_set_threads) and the repeated --stop option `stop` (its values into
 * req->stop / n_stop; an empty one is a usage error): what generate and route share. */
int cli_threads_and_stops(const cli_opt *opts, int n_opts, const cli_opt *stop,
                          struct eco_infer_request *req);
/* "f32" or "f16" (a KV cache's element type, --kv-cache). */
int cli_parse_kv_dtype(const char *flag, const char *s, eco_dtype *out);

/* Parses "1,2,3" (commas and/or white space) into a malloc'd id list; usage error naming
 * the flag on a bad entry or an empty list. */
int cli_parse_ids(const char *flag, const char *s, int32_t **ids, size_t *n);

/* A JSON string of text[len], invalid UTF-8 sequences replaced by U+FFFD (JSON strings
 * must be valid UTF-8; model output need not be). */
struct json_t *cli_json_text(const char *text, size_t len);

int cmd_model(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_bpb(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_chat_template(int argc, char **argv);
/* issue 21, the loop (w-loop): cmd_run.c (run, demo), cmd_archive.c, cmd_promote.c */
int cmd_run(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_archive(int argc, char **argv);
int cmd_promote(int argc, char **argv);
int cmd_rollback(int argc, char **argv);
int cmd_tokenizer(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_tasks(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_rl(int argc, char **argv);
int cmd_grads(int argc, char **argv);
int cmd_pretrain(int argc, char **argv);
int cmd_distill(int argc, char **argv);
int cmd_keys(int argc, char **argv);
int cmd_registry(int argc, char **argv);
int cmd_add(int argc, char **argv);
int cmd_add_remote(int argc, char **argv); /* cmd_registry.c (issue 22) */
int cmd_show(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_lineage(int argc, char **argv);
int cmd_alias(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_extract(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_breed(int argc, char **argv);
int cmd_recipe(int argc, char **argv);
int cmd_corpus(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_canary(int argc, char **argv);
int cmd_route(int argc, char **argv); /* cmd_route.c (issue 21) */
int cmd_serve(int argc, char **argv); /* cmd_serve.c (issue 22) */
/* cmd_tasks_table.c: `ecology tasks table` (argv[2] "table"), the family × capability
 * table. */
int cli_tasks_table(int argc, char **argv);

/* cmd_breed.c: the end of a breeding command (breed, recipe run), given the status st of
 * eco_breed / eco_breed_recipe_run and its result res (the caller has printed its summary
 * line when st is OK and json is false; res is the caller's to free). When st is OK and json
 * is set, prints the child's canonical genome.json (a failure there becomes st). Then the
 * exit status: CLI_OK; CLI_REJECTED for a refusal (res->refused: "ecology: <refused_what>:
 * refused: <reason>" on stderr) or an EINCOMPAT from a folder function (printed by
 * cli_fail(st, fail_what)); CLI_FAIL for any other failure (cli_fail). */
struct eco_breed_result;
int cli_breed_finish(eco_status st, const struct eco_breed_result *res, bool json,
                     const char *refused_what, const char *fail_what);

/* cmd_registry.c: opens the registry of --data-dir (NULL: $ECOLOGY_DATA, ./ecology-data);
 * prints the failure and returns CLI_FAIL when it cannot. */
struct eco_registry;
int cli_registry_open(const char *data_dir, struct eco_registry **r);
/* The same with the store's trust cache on for reads (--trust-cache). */
int cli_registry_open_opts(const char *data_dir, bool trust_cache, struct eco_registry **r);
/* For commands that only read: the registry opened read-only (works on a read-only folder,
 * never writes to it). */
int cli_registry_open_ro(const char *data_dir, bool trust_cache, struct eco_registry **r);

/* model_ref.c: models by name. A value that is not an existing path but a valid model id
 * names a registered model or alias in the registry of data_dir (NULL: $ECOLOGY_DATA,
 * ./ecology-data): *out becomes the folder of its verified checkout (eco_registry_checkout),
 * kept until exit; any other value is left as is (*out = ref) for the loader. want: which
 * kind the command needs (a mismatch is a failure naming both). CLI_OK, or CLI_FAIL with
 * the message (naming flag and ref) printed. */
typedef enum cli_ref_kind { CLI_REF_MODEL, CLI_REF_ADAPTER, CLI_REF_ANY } cli_ref_kind;
int cli_model_path(const char *data_dir, const char *flag, const char *ref, cli_ref_kind want,
                   const char **out);
/* The same on option `name` of o, in place (when given), with o's --data-dir; "adapter"
 * wants an adapter, any other name a model. value (may be NULL) receives the option's value
 * after the call (NULL when absent). Commands call it after their usage checks (a usage
 * error stays exit 2 whatever the name), just before loading. */
int cli_model_ref(cli_opt *o, int n, const char *name, const char **value);
/* *ref (an id or alias name) replaced by the model id it names (kept until exit);
 * CLI_FAIL with the message printed (prefixed by what) when neither exists. */
int cli_registry_resolve(struct eco_registry *r, const char *what, const char **ref);

/* cmd_train.c: the --lora spec ("r=8,alpha=16,targets=q,k,v,o[,dropout=0.05][,rslora]") into
 * cfg (usage error printed on a bad item); the summary line(s) or JSON of a training run. */
struct eco_peft_config;
struct eco_trainer_result;
struct eco_trainer_options;
int cli_parse_lora(const char *spec, struct eco_peft_config *cfg);
void cli_print_train_result(const struct eco_trainer_result *r, const struct eco_trainer_options *o,
                            bool json);
/* cmd_train.c: the hyper-parameter options train and distill share (--steps --batch --seq
 * --lr --seed required; the others when present in o) into t; usage error printed. */
int cli_parse_hyper(const char *cmd, const cli_opt *o, int n, struct eco_trainer_options *t);

/* eval_registry.c (issue 19, w-evreg): `ecology eval` and the registry. begin: --corpus by
 * recorded SHA-256 (*corpus_path becomes its store file), the corpus read and parsed once
 * into *corpus (the caller's, eco_eval_corpus_free; the bytes hashed are the bytes parsed,
 * and the run uses the same corpus the checks saw), the artifact checks and the
 * hidden-corpus rule for registered models (CLI_OK, CLI_REJECTED with every failure on
 * stderr, CLI_FAIL); store: the report (re-judged with g, may be NULL) stored against the
 * adapter or the model when every loaded artifact is registered (CLI_OK, also when nothing
 * is to be stored; CLI_FAIL with the message when storing failed); end: releases reg. */
struct eco_eval_report;
struct eco_eval_corpus;
struct eco_gates;
typedef struct cli_eval_reg {
    struct eco_registry *r;      /* open when the run involves the registry */
    char *model_id, *adapter_id; /* registered ids (NULL: a folder / none) */
    char *corpus_file;           /* the store file of a corpus named by id */
    bool signature_ok;           /* model and adapter registered and their signatures checked */
    bool store;                  /* every loaded artifact registered: the report is stored */
    char *checks_json; /* the artifact checks' failures, a JSON array [{"check","detail"}] */
    double coverage;   /* the fitness's coverage (eval_coverage.c), judged with by store */
} cli_eval_reg;
int cli_eval_registry_begin(cli_opt *o, int n, const char **corpus_path,
                            struct eco_eval_corpus **corpus, cli_eval_reg *reg);
int cli_eval_registry_store(cli_eval_reg *reg, const struct eco_eval_report *rep,
                            const struct eco_gates *g);
void cli_eval_registry_end(cli_eval_reg *reg);
/* eval_coverage.c: the new-capability coverage of the evaluated registry model against its
 * lineage parents' stored reports on the same corpus (eco_eval_coverage); 0 (with a warning
 * on stderr when something could not be read) when there is no registry model or parent. */
double cli_eval_coverage(cli_eval_reg *reg, const struct eco_gates *g,
                         const struct eco_eval_report *rep);
/* cmd_corpus.c: after `add DIR`, the training corpus that DIR's training.json names (run.data.
 * path, as the trainer wrote it) recorded in the registry when the file is still there and is
 * the corpus the genome names (so that the contamination rule can read it); silent otherwise. */
struct eco_genome;
void cli_record_training_corpus(struct eco_registry *r, const char *dir,
                                const struct eco_genome *g);
/* The same for a training corpus file given by path (breed --corpus). */
void cli_record_training_file(struct eco_registry *r, const char *path, const struct eco_genome *g);

/* usage.c: every command's usage, in one table (help, COMMAND --help, the option check). */
#include <stddef.h>
#include <stdio.h>
typedef struct cli_usage {
    const char *cmd;      /* "generate", "model create" */
    const char *synopsis; /* after "ecology ": every option the command accepts */
    const char *about;    /* one line */
    const char *options;  /* one line or more per option, with defaults; may be "" */
} cli_usage;
size_t cli_usage_count(void);
const cli_usage *cli_usage_get(size_t i);
/* The entry of "cmd" (sub NULL) or "cmd sub"; NULL when there is none. Borrowed, static. */
const cli_usage *cli_usage_find(const char *cmd, const char *sub);
/* true when cmd has subcommands ("model", "tasks", ...). */
bool cli_usage_is_group(const char *cmd);
/* The top-level usage: every command's synopsis and one line about it. */
void cli_usage_print_all(FILE *f);
/* One command's usage and options, or a group's synopses (sub NULL); CLI_USAGE (nothing
 * printed) for an unknown command. */
int cli_usage_print(const char *cmd, const char *sub, FILE *f);
/* true when arg ("--name" or "-n", no '=') is an option that u's synopsis shows with a
 * value ("--prompt TEXT"), so that the next argument is its value even when it is "-h". */
bool cli_usage_takes_value(const cli_usage *u, const char *arg);
/* The first option of opts that u's synopsis does not mention, or NULL. */
const char *cli_usage_missing_option(const cli_usage *u, const cli_opt *opts, int n_opts);

/* args.c: CLI_OK when name is a built-in capability (eco_tasks_find), else a usage error
 * naming --flag and the known capabilities: an unknown capability is a usage error
 * everywhere (tasks generate/eval, add, list). */
int cli_check_capability(const char *flag, const char *name);
/* args.c: "a,b,c" into at most max distinct capabilities caps[0..*n); a usage error naming
 * --flag for an empty or unknown name, a name given twice or more than max names. */
struct eco_capability;
int cli_parse_capabilities(const char *flag, const char *list, const struct eco_capability **caps,
                           size_t max, size_t *n);

#endif
