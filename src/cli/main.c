/* ecology: entry point and subcommand dispatch. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: ecology <command> [options]\n"
    "\n"
    "commands:\n"
    "  model create --preset P [--seed N (default 0)] [--dtype f32|bf16|f16] --out DIR [--force]\n"
    "                                  write a random-initialised model with real shapes\n"
    "  model merge --model DIR --adapter DIR --out DIR [--force]\n"
    "                                  fold a LoRA adapter into the base weights\n"
    "  generate --model DIR [--adapter DIR] --prompt TEXT [-n N] [--temperature T] [--top-k K]\n"
    "           [--top-p P] [--seed S] [--stop STR] [--threads N] [--json]\n"
    "  logits --model DIR [--adapter DIR] --tokens 1,2,3 --out FILE.safetensors\n"
    "  tokenize --tokenizer FILE|DIR (--text TEXT | --file F) [--decode] [--no-special] [--json]\n"
    "  inspect PATH                    summary of a safetensors file or model folder\n"
    "  tasks list [--json] | tasks generate --capability C --split train|eval --n N [--seed S]\n"
    "  tasks eval --model DIR [--adapter DIR] --capability C [--n N] [--seed S] [--json]\n"
    "                                  exact match on the capability's held-out split\n"
    "  train --model DIR --data FILE.jsonl (--lora r=8,alpha=16,targets=q,k,v,o[,dropout=D][,rslora]\n"
    "        --adapter-out DIR | --full --out DIR) --steps N --batch B --seq T --lr LR --seed S\n"
    "        [--warmup N] [--accum N] [--weight-decay W] [--clip C] [--checkpoint-every N]\n"
    "        [--doc-mask] [--resume] [--work-dir DIR] [--force] [--threads N] [--json]\n"
    "                                  fine-tune (full or LoRA) with checkpoints (in OUT/.work)\n"
    "  grads --model DIR [--adapter DIR] --data FILE.jsonl --out FILE.safetensors [--batch B --seq T]\n"
    "        [--doc-mask]              loss and gradients of every trainable tensor on the first batch\n"
    "  pretrain --recipe FILE.json [--out DIR] [--work-dir DIR] [--threads N] [--resume] [--force] [--json]\n"
    "                                  run a recipe: pretrain a model, or train a LoRA adapter (\"kind\": \"lora\")\n"
    "  distill --teacher DIR[,DIR...] --student DIR --data FILE.jsonl --out DIR --steps N --batch B\n"
    "          --seq T --lr LR --seed S [--weight W] [--temperature T] [--max-tokens N] [--checkpoint-every N]\n"
    "          [--doc-mask] [--resume] [--work-dir DIR] [--force] [--threads N] [--json]\n"
    "                                  train the student from teachers (token-level KL+CE, or sequence-level)\n"
    "  (outputs: a non-empty --out/--adapter-out is replaced only with --force, an input never;\n"
    "   the result is written beside it and renamed into place)\n"
    "  keys generate --out DIR [--name NAME] [--type ecdsa-p256|ed25519] [--json]\n"
    "                                  a signing key pair: NAME.key (private, 0600) and NAME.pub\n"
    "\n"
    "registry (each takes --data-dir D; default $ECOLOGY_DATA, else ./ecology-data):\n"
    "  registry init [--require-signature]   create the data folder, store and database\n"
    "  registry check [--rehash]       database integrity, every model's files present (re-hashed)\n"
    "  add DIR --id NAME [--base ID] [--capability C]... [--sign-key KEY] [--json]\n"
    "                                  hash, store, sign and register a model or adapter folder\n"
    "  show ID [--json] | list [--capability C] [--kind K] [--base ID] [--compatible-with ID] [--json]\n"
    "  lineage ID [--dot]              ancestry tree and descendants (Graphviz DOT with --dot)\n"
    "  verify ID|DIR [--trusted DIR]   re-hash every file, check the signature against trusted keys\n"
    "  alias set NAME ID [--expect OLD|none] | alias get NAME | alias history NAME [--json]\n"
    "  events [--since N] [--json]     the append-only event log\n"
    "  export ID --out DIR [--trust-cache]   files + genome.json + signature.json, verifiable elsewhere\n"
    "  version\n";

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("ecology %s\n", ECO_VERSION);
        return CLI_OK;
    }
    if (strcmp(cmd, "model") == 0) return cmd_model(argc, argv);
    if (strcmp(cmd, "generate") == 0) return cmd_generate(argc, argv);
    if (strcmp(cmd, "logits") == 0) return cmd_logits(argc, argv);
    if (strcmp(cmd, "tokenize") == 0) return cmd_tokenize(argc, argv);
    if (strcmp(cmd, "inspect") == 0) return cmd_inspect(argc, argv);
    if (strcmp(cmd, "tasks") == 0) return cmd_tasks(argc, argv);
    if (strcmp(cmd, "train") == 0) return cmd_train(argc, argv);
    if (strcmp(cmd, "grads") == 0) return cmd_grads(argc, argv);
    if (strcmp(cmd, "pretrain") == 0) return cmd_pretrain(argc, argv);
    if (strcmp(cmd, "distill") == 0) return cmd_distill(argc, argv);
    if (strcmp(cmd, "keys") == 0) return cmd_keys(argc, argv);
    if (strcmp(cmd, "registry") == 0) return cmd_registry(argc, argv);
    if (strcmp(cmd, "add") == 0) return cmd_add(argc, argv);
    if (strcmp(cmd, "show") == 0) return cmd_show(argc, argv);
    if (strcmp(cmd, "list") == 0) return cmd_list(argc, argv);
    if (strcmp(cmd, "verify") == 0) return cmd_verify(argc, argv);
    if (strcmp(cmd, "export") == 0) return cmd_export(argc, argv);
    if (strcmp(cmd, "lineage") == 0) return cmd_lineage(argc, argv);
    if (strcmp(cmd, "alias") == 0) return cmd_alias(argc, argv);
    if (strcmp(cmd, "events") == 0) return cmd_events(argc, argv);
    fprintf(stderr, "ecology: unknown command '%s' (try 'ecology help')\n", cmd);
    return CLI_USAGE;
}
