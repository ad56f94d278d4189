/* Every command's usage text, in one table: `ecology help`, `ecology help COMMAND`,
 * `ecology COMMAND --help` print from it, and cli_parse checks each command's option table
 * against it (cli_usage_missing_option), so an option cannot exist without being
 * documented. Keep the synopsis complete: every option a command accepts appears in it. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* MODEL and ADAPTER, wherever they appear: a folder, or a registry id or alias. */
#define MODEL_NOTE                                                                                 \
    "  MODEL, ADAPTER   a folder, or a model registered in the data folder: its id or an alias\n"  \
    "                   (NAME or NAME@alias), loaded after its files are verified\n"               \
    "  --data-dir D     the data folder for ids and aliases (default $ECOLOGY_DATA, else "         \
    "./ecology-data)\n"
#define DATA_DIR_NOTE                                                                              \
    "  --data-dir D     the data folder (default $ECOLOGY_DATA, else ./ecology-data)\n"
#define THREADS_NOTE "  --threads N      worker threads (default OMP_NUM_THREADS, else the cores)\n"
#define HYPER_NOTE                                                                                 \
    "  --steps N --batch B --seq T --lr LR --seed S   required: optimizer steps, examples per "    \
    "step,\n"                                                                                      \
    "                   tokens per row (at most the model's max_position_embeddings), peak "       \
    "learning\n"                                                                                   \
    "                   rate, seed of data order and initialisation\n"                             \
    "  --warmup N       linear warm-up steps, then cosine decay (default 0)\n"                     \
    "  --min-lr-ratio R the cosine's floor as a fraction of --lr (default 0.1)\n"                  \
    "  --accum N        gradient accumulation micro-steps (default 1)\n"                           \
    "  --weight-decay W AdamW weight decay (default 0.01)\n"                                       \
    "  --clip C         gradient norm clipping (default 1.0; 0 off)\n"                             \
    "  --checkpoint-every N   write a checkpoint every N steps (default 0: only at the end)\n"     \
    "  --resume         continue from the checkpoint in the working folder\n"                      \
    "  --work-dir D     where checkpoints and working files go (default OUT/.work)\n"              \
    "  --force          replace a non-empty output folder\n"                                       \
    "  --doc-mask       each example packed into a row attends only to itself\n" THREADS_NOTE      \
    "  --json           one JSON object as the result\n"

static const cli_usage table[] = {
    {"model create",
     "model create --preset P [--seed N] [--dtype f32|bf16|f16] --out DIR [--force]",
     "write a random-initialised model with the real architecture's shapes",
     "  --preset P       tiny, smollm2-135m, tinyllama-1.1b or qwen2.5-0.5b\n"
     "  --seed N         initialisation seed (default 0; recorded in the model's lineage)\n"
     "  --dtype T        weight type (default f32)\n"
     "  --out DIR        the new model folder (refused when not empty, unless --force)\n"},
    {"model merge",
     "model merge --model MODEL --adapter ADAPTER --out DIR [--force] [--data-dir D]",
     "fold a LoRA adapter into the base weights (W + s*B*A), a new model folder",
     "  --out DIR        the merged model (refused when not empty or an input, unless "
     "--force)\n" MODEL_NOTE},
    {"model export",
     "model export --format gguf [--type f32|f16|bf16|q8_0] --model MODEL --out FILE.gguf "
     "[--force]\n"
     "      [--data-dir D]",
     "write a model as a GGUF file that llama.cpp runs (README, GGUF)",
     "  --format gguf    the file format (gguf only)\n"
     "  --type T         the matrices' type (default f32; norms and biases stay f32; q8_0 is\n"
     "                   ggml's Q8_0, f16 for a matrix whose rows are not whole 32-blocks)\n"
     "  --out FILE.gguf  the file (refused when it exists, unless --force)\n" MODEL_NOTE},
    {"model import", "model import --model FILE.gguf --out DIR [--force]",
     "write a llama-family GGUF as a model folder (for train, add and the rest)",
     "  --model FILE.gguf  the GGUF (arch llama or qwen2; F32, F16, BF16 or Q8_0 tensors)\n"
     "  --out DIR        the new model folder (refused when not empty, unless --force)\n"},
    {"quantize", "quantize --model MODEL --type q8_0 --out DIR [--force] [--data-dir D]",
     "a q8_0 copy of a model (GGUF's Q8_0 blocks), with its lineage",
     "  --type q8_0      the weight type: 2-D matrices with whole 32-column blocks become q8_0\n"
     "                   (norms and biases stay as they are)\n"
     "  --out DIR        the new model folder (refused when not empty or the input, unless "
     "--force)\n"
     "  --force          replace a non-empty output folder\n" MODEL_NOTE},
    {"generate",
     "generate --model MODEL [--adapter ADAPTER] (--prompt TEXT | --prompt - | --prompt-file F)\n"
     "      [-n N] [--temperature T] [--top-k K] [--top-p P] [--seed S] [--stop STR]...\n"
     "      [--kv-cache f32|f16] [--no-special] [--threads N] [--json] [--data-dir D]",
     "generate text: the prompt in one batched pass, then token by token",
     "  --prompt TEXT    the prompt; '-' reads it from stdin\n"
     "  --prompt-file F  read the prompt from file F\n"
     "  -n N             at most N new tokens (default 64)\n"
     "  --temperature T  0 is greedy (default 0)\n"
     "  --top-k K        sample from the K most likely tokens (default 0: all)\n"
     "  --top-p P        nucleus sampling (default 1)\n"
     "  --seed S         sampling seed (default 0)\n"
     "  --stop STR       stop when STR is generated; may be given several times\n"
     "  --kv-cache T     the KV cache's element type (default f16 for a bf16/f16 model, else f32)\n"
     "  --no-special     do not add the tokenizer's special tokens (BOS) to the prompt\n"
     "  --json           text, token ids, log-probabilities, timings and finish reason as JSON\n"
     "                   (plain mode prints the prompt followed by the generated "
     "text)\n" THREADS_NOTE MODEL_NOTE},
    {"logits",
     "logits --model MODEL [--adapter ADAPTER] --tokens 1,2,3 --out FILE.safetensors\n"
     "      [--kv-cache f32|f16] [--threads N] [--data-dir D]",
     "every position's logits from one batched pass, as one f32 tensor [T, vocab]",
     "  --tokens IDS     token ids, separated by commas or spaces\n"
     "  --kv-cache T     the KV cache's element type (default f32)\n" THREADS_NOTE MODEL_NOTE},
    {"bpb", "bpb --model MODEL --file TEXT [--ctx N] [--threads N] [--json] [--data-dir D]",
     "bits per byte of a UTF-8 text under a model (comparable across tokenizers)",
     "  --file TEXT      the text, encoded whole with the model's tokenizer (no specials)\n"
     "  --ctx N          positions per window, BOS included (default 128); each window starts\n"
     "                   with BOS and predicts the next N-1 tokens of the text\n"
     "  --json           bytes, tokens, windows, nll_nats, bits_per_token, "
     "bits_per_byte\n" THREADS_NOTE MODEL_NOTE},
    {"tokenize",
     "tokenize --tokenizer FILE|DIR (--text TEXT | --file F) [--decode] [--no-special] [--json]",
     "token ids of a text, or with --decode the text of token ids",
     "  --tokenizer P    tokenizer.json, or the model folder holding it\n"
     "  --decode         the input is token ids; print their text\n"
     "  --no-special     do not add (or, decoding, print) special tokens\n"
     "  --json           a JSON array of ids, or {\"text\": ...}\n"},
    {"chat-template",
     "chat-template (--model DIR|FILE.gguf | --config FILE) --messages FILE\n"
     "      [--no-generation-prompt] [--json]",
     "the prompt a model's chat template makes of a conversation",
     "  --model DIR      a model folder: its tokenizer_config.json's chat_template (a .gguf:\n"
     "                   tokenizer.chat_template), or for a tiny-ecology model without one the\n"
     "                   project's own template\n"
     "  --config FILE    a tokenizer_config.json\n"
     "  --messages FILE  a JSON array of {\"role\": system|user|assistant, \"content\": ...}\n"
     "                   (or an object with \"messages\"), as OpenAI's chat API takes them\n"
     "  --no-generation-prompt  leave off the assistant turn's opening\n"
     "  --json           {\"prompt\", \"kind\", \"stop\", ...}; plain: the prompt as is, no "
     "newline\n"
     "                   added (pipe it to 'generate --prompt -')\n"
     "  Templates recognised: ChatML/Qwen2/Qwen2.5/Qwen3, Llama 2, Llama 3, Mistral [INST],\n"
     "  Zephyr, tiny-ecology; any other is refused (include/ecology/chat_template.h)\n"},
    {"tokenizer train",
     "tokenizer train --corpus FILE[,FILE...] --vocab N [--min-frequency F] [--special TOKEN]...\n"
     "      [--bos TOKEN] --out FILE [--force] [--threads N] [--json]",
     "train a byte-level BPE tokenizer (Hugging Face BpeTrainer's merges) into a tokenizer.json",
     "  --corpus FILES   UTF-8 text files, comma-separated, read line by line (a line keeps its\n"
     "                   '\\n'); invalid UTF-8 or an empty file is refused, naming file and line\n"
     "  --vocab N        tokens in the result: the specials, the 256 byte tokens, then merges\n"
     "  --min-frequency F  pairs seen fewer than F times are not merged (default 0)\n"
     "  --special TOKEN  a special token (ids 0.. in the order given); may be given several times\n"
     "  --bos TOKEN      put TOKEN before every encoded sequence (a special; added when missing)\n"
     "  --out FILE       the tokenizer.json, written atomically (its folder is made)\n"
     "  --force          replace an existing FILE\n" THREADS_NOTE
     "  --json           the run's figures as one JSON object\n"},
    {"inspect", "inspect PATH|ID [--json] [--data-dir D]",
     "summary of a safetensors file, a model folder, an adapter folder or a registered model",
     "  PATH             FILE.safetensors, a model folder (config.json) or an adapter folder\n"
     "                   (adapter_config.json + adapter_model.safetensors)\n"
     "  ID               a registry id or alias (looked up in --data-dir)\n"
     "  --json           the same as one JSON object\n" DATA_DIR_NOTE},
    {"tasks list", "tasks list [--json]", "the built-in capabilities and their split sizes",
     "  --json           a JSON array\n"},
    {"tasks generate", "tasks generate --capability C --split train|eval --n N [--seed S]",
     "JSONL items of a capability on stdout, one {\"prompt\",\"completion\"} per line",
     "  --capability C   a name from 'ecology tasks list' (arith.add@1, ...)\n"
     "  --n N            how many items\n"
     "  --seed S         generation seed (default 0)\n"},
    {"tasks eval",
     "tasks eval --model MODEL [--adapter ADAPTER] --capability C [--n N] [--seed S] [--failures "
     "K]\n"
     "      [--threads N] [--json] [--data-dir D]",
     "exact match on the capability's held-out split",
     "  --capability C   a name from 'ecology tasks list'\n"
     "  --n N            items to score (default 100; at most the split's size)\n"
     "  --seed S         item seed (default 0)\n"
     "  --failures K     show the first K failures (default 5)\n"
     "  --json           the report as JSON\n" THREADS_NOTE MODEL_NOTE},
    {"tasks table",
     "tasks table [--family NAME=MODEL_DIR[:ADAPTER_DIR]]... [--data-root DIR]\n"
     "      [--capability C[,C...]] [--n N] [--seed S] [--threads N] [--json]",
     "the base families side by side: family x capability exact match, size and speed",
     "  --family NAME=MODEL_DIR[:ADAPTER_DIR]   a family: its model folder and the folder of\n"
     "                   its adapters (ADAPTER_DIR/<capability> or "
     "ADAPTER_DIR/<group>/<capability>\n"
     "                   whose adapter_config.json names MODEL_DIR's folder as its base); may\n"
     "                   be given several times\n"
     "  --data-root DIR  without --family: every model of DIR/models, adapters from\n"
     "                   DIR/adapters (default ./data, the shipped families)\n"
     "  --capability C   the capabilities to score, comma-separated (default all of 'ecology\n"
     "                   tasks list')\n"
     "  --n N            items per capability: N of the held-out split, as 'tasks eval' scores\n"
     "                   them, and N of the shift corpus, as 'corpus build --shift' makes it\n"
     "                   (default 50)\n"
     "  --seed S         item seed (default 0)\n"
     "  --json           the table as JSON: per family parameters, bytes, tokens and bytes a\n"
     "                   second, tokenizer and architecture hashes; per capability each\n"
     "                   family's rates (null: no adapter, or no shift corpus) and the "
     "best\n" THREADS_NOTE},
    {"corpus build",
     "corpus build [--capability C[,C...]] --n N --seed S [--shift] [--safety] --out FILE "
     "[--force]",
     "an evaluation corpus (JSONL) from the capability suite",
     "  --capability C   capabilities from 'ecology tasks list', comma-separated: N cases of\n"
     "                   each's held-out split (check exact, tag in-distribution)\n"
     "  --n N            cases per capability (pairs for --safety); fewer where a space\n"
     "                   has fewer distinct held-out prompts (said on stderr)\n"
     "  --seed S         which items (the same arguments give the same bytes)\n"
     "  --shift          out-of-distribution cases instead: English words for text.reverse@1\n"
     "                   and text.sort@1, three-digit operands for arith.add@1, other fields,\n"
     "                   value lengths and key counts for json.record@1 (tag shift)\n"
     "  --safety         add the paired safety suite: harmful requests to refuse and harmless\n"
     "                   look-alikes to answer (homonym, figurative, safe-context, definition)\n"
     "  --out FILE       the corpus, written atomically\n"
     "  --force          replace an existing FILE\n"},
    /* issue 19: corpora in the registry (w-evreg) */
    {"corpus add", "corpus add FILE [--hidden] [--name NAME] [--kind eval|train] [--data-dir D]",
     "store a corpus file in the artifact store and record it in the registry",
     "  FILE             an evaluation corpus (JSONL: capability, prompt, check, ...; named by\n"
     "                   the SHA-256 of its bytes) or a training corpus (JSONL prompt/completion\n"
     "                   or text; named by its canonical-content SHA-256, as genomes name it)\n"
     "  --hidden         evaluation only: a model whose lineage trained on it, or on a training\n"
     "                   corpus overlapping it (a prompt, or 8-word n-grams), is refused (exit 3)\n"
     "  --name NAME      a label shown by list (1..128 bytes)\n"
     "  --kind K         eval or train (default: tried as eval, then as train)\n"
     "  The same corpus again is a no-op; a training corpus must be added for the\n"
     "  contamination checks to read it.\n" DATA_DIR_NOTE},
    {"corpus list", "corpus list [--json] [--data-dir D]",
     "the recorded corpora: hash, kind, hidden, cases or records, added time, name",
     "  --json           one JSON array\n" DATA_DIR_NOTE},
    {"corpus deny", "corpus deny SHA256 [--reason TEXT] [--data-dir D]",
     "put a corpus hash on the deny list: no model trained on it passes the artifact checks",
     "  --reason TEXT    why (kept with the entry)\n" DATA_DIR_NOTE},
    {"train",
     "train --model MODEL --data FILE.jsonl\n"
     "      ((--lora r=8,alpha=16,targets=q,k,v,o[,dropout=D][,rslora] | --init-adapter ADAPTER)\n"
     "       --adapter-out DIR [--out DIR]\n"
     "       | --full --out DIR)\n"
     "      --steps N --batch B --seq T --lr LR --seed S [--warmup N] [--min-lr-ratio R] [--accum "
     "N]\n"
     "      [--weight-decay W] [--clip C] [--checkpoint-every N] [--stop-after N] [--resume]\n"
     "      [--work-dir D] [--force] [--doc-mask] [--threads N] [--json] [--data-dir D]",
     "fine-tune a model (full or LoRA) on {\"prompt\",\"completion\"} or {\"text\"} JSONL",
     "  --lora SPEC      LoRA rank, alpha, target projections (q,k,v,o,gate,up,down), dropout, "
     "rsLoRA\n"
     "  --adapter-out DIR  the adapter folder (LoRA)\n"
     "  --init-adapter ADAPTER  continue training this adapter (its rank, targets, A and B)\n"
     "  --full           train every weight; --out DIR is the new model folder\n"
     "  --stop-after N   stop after N steps, as if interrupted (resume with --resume)\n" HYPER_NOTE
         MODEL_NOTE},
    {"rl",
     "rl --model MODEL (--lora r=8,alpha=16,targets=q,v | --adapter ADAPTER --continue)\n"
     "      --capability C[,C...] --group G --steps N --batch B --adapter-out DIR\n"
     "      [--lr LR] [--beta B] [--reference start|base] [--epsilon E] [--epsilon-high E]\n"
     "      [--iterations K] [--loss-type grpo|bnpo|dr_grpo] [--no-scale-rewards] [--resample N]\n"
     "      [--reward-correct W] [--reward-format W] [--length-penalty W] [--temperature T]\n"
     "      [--top-p P] [--max-tokens M] [--max-seq T] [--micro-batch R] [--warmup N] [--clip C]\n"
     "      [--seed S] [--eval-every N] [--eval-n N] [--eval-seed S] [--checkpoint-every N]\n"
     "      [--stop-after N] [--resume] [--work-dir D] [--force] [--threads N] [--json]\n"
     "      [--data-dir D]",
     "reinforcement fine-tuning (GRPO) of a LoRA adapter, rewarded by the capabilities' checkers",
     "  --lora SPEC      a fresh adapter (rank, alpha, targets), or\n"
     "  --adapter A --continue  train adapter A further (its rank, targets, A and B)\n"
     "  --capability C   the prompts (TRAIN split) and their checkers; several take turns\n"
     "  --group G        completions sampled per prompt (>= 2); --batch B prompts per step\n"
     "  --lr LR          AdamW learning rate (default 1e-4); --warmup, --clip (default 1)\n"
     "  --beta B         KL weight to the reference (default 0); --reference start (the\n"
     "                   adapter as the run began, default) or base (the bare base)\n"
     "  --epsilon E      clipping of the policy ratio, 1-E .. 1+E (default 0.2);\n"
     "                   --epsilon-high sets the upper side alone\n"
     "  --iterations K   updates per batch of rollouts (default 1)\n"
     "  --loss-type L    grpo (per sequence, default), bnpo (per token), dr_grpo (constant)\n"
     "  --no-scale-rewards  advantages not divided by the group's standard deviation\n"
     "  --resample N     rounds of resampling groups whose rewards are all equal (default 0)\n"
     "  --reward-correct W --reward-format W --length-penalty W   reward = W_c*correct +\n"
     "                   W_f*well-formed - W_l*tokens/max-tokens (defaults 1, 0, 0)\n"
     "  --temperature T --top-p P   sampling (defaults 1, 1); --max-tokens M per completion\n"
     "                   (default the capabilities' longest answer + 8)\n"
     "  --eval-every N   held-out exact match every N steps (and at the start and the end);\n"
     "                   --eval-n N items per capability (default 100; 0: none)\n"
     "  --checkpoint-every N --resume --stop-after N --work-dir D   as for train\n"
     "  --adapter-out DIR  the adapter and training.json (the run, the reward and held-out\n"
     "                   curves); refused when not empty unless --force or --resume\n" MODEL_NOTE},
    {"grads",
     "grads --model MODEL [--adapter ADAPTER] --data FILE.jsonl --out FILE.safetensors [--batch "
     "B]\n"
     "      [--seq T] [--doc-mask] [--threads N] [--json] [--data-dir D]",
     "loss and gradients of every trainable tensor on the first batch",
     "  --batch B        rows in the batch (default 1)\n"
     "  --seq T          tokens per row (default 64)\n"
     "  --doc-mask       each packed example attends only to itself (position_ids are written "
     "too)\n"
     "  --json           the result as JSON\n" THREADS_NOTE MODEL_NOTE},
    {"pretrain",
     "pretrain --recipe FILE.json [--out DIR] [--work-dir D] [--force] [--resume] [--threads N] "
     "[--json]",
     "run a recipe: pretrain a model, or train a LoRA adapter (\"kind\": \"lora\")",
     "  --recipe F       the recipe (data/recipes/*.json)\n"
     "  --out DIR        the output folder (default the recipe's \"out\")\n"
     "  --work-dir D     where checkpoints and working files go (default OUT/.work)\n"
     "  --force          replace a non-empty output folder\n"
     "  --resume         continue from the last checkpoint\n"
     "  --json           the result as JSON\n" THREADS_NOTE},
    {"distill",
     "distill --teacher MODEL[,MODEL...] --student MODEL --data FILE.jsonl --out DIR\n"
     "      --steps N --batch B --seq T --lr LR --seed S [--weight W] [--temperature T]\n"
     "      [--max-tokens N] [--warmup N] [--min-lr-ratio R] [--accum N] [--weight-decay W]\n"
     "      [--clip C] [--checkpoint-every N] [--stop-after N] [--resume] [--work-dir D]\n"
     "      [--force] [--doc-mask] [--threads N] [--json] [--data-dir D]",
     "train the student from teachers (token-level KL+CE, or sequence-level across tokenizers)",
     "  --weight W       token level: weight of the KL term against cross-entropy (default 0.5)\n"
     "  --temperature T  token level: softening temperature (default 2.0)\n"
     "  --max-tokens N   sequence level: tokens each teacher generates per prompt (default 64)\n"
     "  --stop-after N   stop after N steps, as if interrupted (resume with --resume)\n" HYPER_NOTE
         MODEL_NOTE},
    {"keys generate", "keys generate --out DIR [--name NAME] [--type ecdsa-p256|ed25519] [--json]",
     "a signing key pair: DIR/NAME.key (private, 0600) and DIR/NAME.pub",
     "  --name NAME      file name stem (default ecology)\n"
     "  --type T         key type (default ecdsa-p256)\n"
     "  --json           key id and paths as JSON\n"},
    {"registry init", "registry init [--require-signature] [--data-dir D]",
     "create the data folder, store, database and keys/trusted/",
     "  --require-signature  refuse unsigned or untrusted models at registration\n" DATA_DIR_NOTE},
    {"registry check", "registry check [--rehash] [--data-dir D]",
     "database integrity, lineage resolved, every model's files present (and re-hashed)",
     "  --rehash         re-hash every file instead of checking sizes\n" DATA_DIR_NOTE},
    {"registry gc", "registry gc [--dry-run] [--data-dir D]",
     "report and remove stored objects that no model references",
     "  --dry-run        only report what would be removed\n" DATA_DIR_NOTE},
    {"add",
     "add DIR --id NAME [--base ID] [--capability C]... [--sign-key KEY] [--json] [--data-dir D]",
     "hash, store, sign and register a model or adapter folder",
     "  --id NAME        the new model's id\n"
     "  --base ID        an adapter's base (default its base_model_name_or_path)\n"
     "  --capability C   a capability from 'ecology tasks list'; may be given several times\n"
     "  --sign-key KEY   sign the genome with this private key\n"
     "  --json           the genome as canonical JSON\n" DATA_DIR_NOTE},
    {"add-remote",
     "add-remote --id NAME --endpoint URL --model NAME [--key-env VAR] [--capability C]...\n"
     "      [--sign-key KEY] [--json] [--data-dir D]",
     "register a model an OpenAI-compatible server holds (served here by the http engine)",
     "  --id NAME        the new model's id\n"
     "  --endpoint URL   the server's base URL (http://host:8080/v1 or http://host:8080)\n"
     "  --model NAME     the model name the server serves it under\n"
     "  --key-env VAR    the NAME of the environment variable holding its API key (read when\n"
     "                   the model is opened; the key itself is never recorded)\n"
     "  --capability C   a capability from 'ecology tasks list'; may be given several times\n"
     "  --sign-key KEY   sign the genome with this private key\n"
     "  --json           the genome as canonical JSON\n" DATA_DIR_NOTE},
    {"show", "show ID [--json] [--data-dir D]", "a model's genome (ID: an id or an alias)",
     "  --json           the genome and whether it is signed, as JSON\n" DATA_DIR_NOTE},
    {"list",
     "list [--capability C] [--kind K] [--base ID] [--compatible-with ID] [--json] [--data-dir D]",
     "registered models, filtered",
     "  --capability C   models with this capability (a name from 'ecology tasks list')\n"
     "  --kind K         base, adapter, merged, distilled, quantized or remote\n"
     "  --base ID        adapters of this base\n"
     "  --compatible-with ID  models whose parameters can be mixed with ID's\n"
     "  --json           a JSON array of genomes\n" DATA_DIR_NOTE},
    {"lineage", "lineage ID [--dot] [--data-dir D]", "ancestry tree and descendants",
     "  --dot            Graphviz DOT instead of a tree\n" DATA_DIR_NOTE},
    {"breed",
     "breed --op NAME --parents ID,ID[,...] [--base ID] [--param K=V]... [--corpus FILE]...\n"
     "      [--id NEW] [--sign-key KEY] [--json] [--data-dir D]\n"
     "  ecology breed --rerun ID [--corpus FILE]... [--out DIR] [--force] [--data-dir D]",
     "breed registered parents into a registered child with its lineage, or re-run one",
     "  --op NAME        linear, task_arithmetic, ties, dare_linear, dare_ties, breadcrumbs,\n"
     "                   della, slerp, mutate, crossover, prune, extract, quantize, finetune,\n"
     "                   distill, fold (an adapter folded into its base model), rl (GRPO on\n"
     "                   an adapter, rewarded by its capabilities' checkers: --param steps=N\n"
     "                   capabilities=C[,C] group=G batch=B lr=LR ...; no corpus)\n"
     "  --parents IDS    the parents, registry ids or aliases, in order\n"
     "  --base ID        the base (theta_0) of a task-vector merge of full models, or of prune\n"
     "                   and extract\n"
     "  --param K=V      an operator parameter (weights=0.3,0.7 density=0.5 seed=1; a value\n"
     "                   with commas is a list, '1,' a list of one, [..] {..} \"..\" JSON);\n"
     "                   may be given several times\n"
     "  --corpus FILE    a JSONL corpus the operator trains on (finetune, distill), its hash\n"
     "                   recorded; may be given several times (in order)\n"
     "  --id NEW         the child's id (default OP-<12 hex of its files' root digest>)\n"
     "  --sign-key KEY   sign the child's genome with this private key\n"
     "  --json           the child's genome as canonical JSON\n"
     "  --rerun ID       breed the registered ID again from its lineage and compare the bytes\n"
     "                   (exit 0 the same, 1 different)\n"
     "  --out DIR        --rerun: keep the re-bred folder there (refused when not empty)\n"
     "  --force          --rerun: replace a non-empty --out\n"
     "  Exit 3: the operator refused the parents (the reason names the compatibility field\n"
     "  that differs).\n" DATA_DIR_NOTE},
    {"recipe run", "recipe run FILE.json [--id NEW] [--sign-key KEY] [--json] [--data-dir D]",
     "run a breeding recipe (a chain of operators) into one registered child",
     "  FILE.json        the recipe: {\"name\", \"parents\": [ids], \"steps\": [{\"op\", "
     "\"params\",\n"
     "                   \"seed\", \"inputs\"}], \"corpus\", \"id\", \"sign_key\"}; the child's "
     "lineage\n"
     "                   holds every step (operation, parameters, seed, result)\n"
     "  --id NEW         the child's id (default the recipe's id, else recipe-<12 hex>)\n"
     "  --sign-key KEY   sign the child's genome (default the recipe's sign_key)\n"
     "  --json           the child's genome as canonical JSON\n"
     "  Exit 3: a step's operator refused its inputs.\n" DATA_DIR_NOTE},
    {"verify", "verify ID|DIR [--trusted DIR] [--data-dir D]",
     "re-hash every file and check the signature against trusted keys",
     "  ID|DIR           a registered id or alias, or an exported folder (genome.json)\n"
     "  --trusted DIR    folder of trusted public keys, for an exported folder\n"
     "                   (default the data folder's keys/trusted)\n"
     "  exit status: 0 intact and signed by a trusted key, 1 a mismatch,\n"
     "               4 intact but unsigned or signed by an untrusted key\n" DATA_DIR_NOTE},
    {"alias set", "alias set NAME ID [--expect OLD|none] [--data-dir D]",
     "point NAME at model ID (compare-and-swap with --expect)",
     "  --expect OLD     move only if NAME points at OLD now ('none': only if NAME does not "
     "exist)\n" DATA_DIR_NOTE},
    {"alias get", "alias get NAME [--data-dir D]", "the model NAME points at", DATA_DIR_NOTE},
    {"alias history", "alias history NAME [--json] [--data-dir D]", "every move of NAME",
     "  --json           a JSON array\n" DATA_DIR_NOTE},
    /* issue 21: the loop (w-loop) */
    {"run", "run --config FILE [--generations N] [--minutes M] [--data-dir D]",
     "run or continue the ecology loop of a config (breed, gate, archive, canary, promote)",
     "  --config FILE    the loop's JSON config (data/loop/demo.json is an example)\n"
     "  --generations N  the run's last generation (default the config's budget.generations)\n"
     "  --minutes M      time for this call: no generation starts that would not fit\n"
     "  One line per generation on stdout. The state is the registry: running it again\n"
     "  continues after the last finished generation, also after kill -9.\n" DATA_DIR_NOTE},
    {"demo", "demo [--quick] [--minutes M] [--config FILE] [--data-dir D]",
     "the loop on the shipped default model and its adapters (data/loop/demo.json)",
     "  --quick          data/loop/quick.json: a couple of generations at small n (tests)\n"
     "  --minutes M      time for this call, at most 10 (default the config's)\n"
     "  --config FILE    another config instead of the shipped one\n"
     "  Prints where its results are; running it again continues the same "
     "population.\n" DATA_DIR_NOTE},
    {"archive show", "archive show [--profile BOUNDS] [--json] [--data-dir D]",
     "the loop's Pareto archive, and the best member for a profile",
     "  --profile BOUNDS max_OBJECTIVE=X or min_OBJECTIVE=X, comma-separated\n"
     "                   (max_p95_ms=50,max_bytes=1e8): the highest quality within them\n"
     "  --json           {\"generation\", \"archive\", \"best\"}\n" DATA_DIR_NOTE},
    {"promote", "promote ID --capability C [--data-dir D]",
     "make ID the champion of C by hand (still gated: exit 3 without an accepted report)",
     "  --capability C   the capability whose champion alias (C.champion) moves\n" DATA_DIR_NOTE},
    {"rollback", "rollback CAPABILITY [--reason TEXT] [--data-dir D]",
     "move the champion of CAPABILITY back to the one before it",
     "  --reason TEXT    recorded in the rollback event (default \"manual "
     "rollback\")\n" DATA_DIR_NOTE},
    {"events", "events [--since N] [--json] [--data-dir D]", "the registry's append-only event log",
     "  --since N        events after sequence number N (default 0)\n"
     "  --json           one JSON object per line\n" DATA_DIR_NOTE},
    {"report",
     "report --out DIR [--x-objective NAME] [--y-objective NAME] [--max-lineage N] "
     "[--data-dir D]",
     "the loop's report page: DIR/index.html (self-contained), lineage.svg/.dot, pareto.svg",
     "  --out DIR        the folder to write (created; its four files replaced atomically)\n"
     "  --x-objective NAME, --y-objective NAME   the front's axes (default p95_ms, quality)\n"
     "  --max-lineage N  lineage nodes drawn at most (default 300: champions, archive\n"
     "                   members and their ancestors first, then the latest)\n" DATA_DIR_NOTE},
    {"export", "export ID --out DIR [--trust-cache] [--data-dir D]",
     "files + genome.json + signature.json, verifiable elsewhere",
     "  --out DIR        the folder to write\n"
     "  --trust-cache    skip re-hashing objects whose size and mtime were verified "
     "before\n" DATA_DIR_NOTE},
    /* clang-format off */
    {"merge",
     "merge --method M [--base DIR] --parents DIR,DIR[,...] [--weights w,w,...]\n"
     "      [--density d|d,d,...] [--lambda l] [--t t|t0,t1,...] [--gamma g] [--epsilon e]\n"
     "      [--election sum|count] [--rescale inverse|l1] [--rank r] [--seed s]\n"
     "      [--normalize true|false] [--shard-bytes N] --out DIR [--force] [--data-dir D]",
     "parameter merge of model or adapter folders (exact, seeded; no registry needed)",
     "  --method M       linear, task_arithmetic, ties, dare_linear, dare_ties, breadcrumbs,\n"
     "                   della or slerp (../shared/design/MERGING.md has the formulas)\n"
     "  --parents DIRS   model folders, or adapter folders (adapter_config.json), comma-separated;\n"
     "                   parents of another architecture, tokenizer or tensor schema are refused\n"
     "                   (exit status 3; use distill)\n"
     "  --base DIR       the model the parents were fine-tuned from: required for the task-vector\n"
     "                   methods on full models (all but linear and slerp)\n"
     "  --weights w,...  one weight per parent (required except for slerp)\n"
     "  --density d      kept fraction of each delta, one value or one per parent (default 1)\n"
     "  --lambda l       scale of the merged task vector (default 1)\n"
     "  --t t|t0,t1,...  slerp: the interpolation, or values spread over the layers (required)\n"
     "  --gamma g        breadcrumbs: share of the largest entries dropped (default 0.01)\n"
     "  --epsilon e      della: spread of the keep probability (default 0.15)\n"
     "  --election E     TIES sign election: sum of weighted deltas (default) or count of signs\n"
     "  --rescale R      random sparsifiers: inverse (divide by density, default) or l1\n"
     "  --rank r         adapters: the rank written (default the largest parent rank)\n"
     "  --seed s         seed of the random masks (default 0), recorded in lineage.json\n"
     "  --normalize B    divide by the sum of the weights (default: the method's)\n"
     "  --shard-bytes N  full models: tensor bytes per output shard (default 5000000000,\n"
     "                   Hugging Face's 5GB); above it model-0000i-of-0000n.safetensors + index\n"
     "  --out DIR        the child's folder, with lineage.json (written atomically)\n"
     "  --force          replace a non-empty output folder\n" DATA_DIR_NOTE},
    /* clang-format on */
    {"extract",
     "extract --model MODEL --base MODEL (--rank R | --sv-epsilon E) --out DIR [--strict]\n"
     "      [--force] [--threads N] [--json] [--data-dir D]",
     "a LoRA adapter from a full fine-tune: truncated SVD of each linear weight's change",
     "  --model MODEL    the fine-tuned model\n"
     "  --base MODEL     the model it was fine-tuned from (same architecture and shapes)\n"
     "  --rank R         the most singular values kept per module (the adapter's r)\n"
     "  --sv-epsilon E   keep only singular values above E (mergekit's absolute threshold); with\n"
     "                   --rank both apply; modules keeping fewer are padded to one r\n"
     "  --strict         refuse when tensors a LoRA cannot carry (norms, embeddings) differ\n"
     "                   (default: list them and go on)\n"
     "  --out DIR        the adapter folder (refused when not empty, unless --force)\n"
     "  --json           the result (rank, energy, per-module rank and energy) as "
     "JSON\n" THREADS_NOTE MODEL_NOTE},
    /* issue 21: the canary runner (w-canary) */
    {"canary status", "canary status [--capability C] [--json] [--data-dir D]",
     "each capability's champion and canary aliases and its last canary decision",
     "  --capability C   only this capability (default every one that has had a canary)\n"
     "  --json           a JSON array, one object per capability with the last event's "
     "detail\n" DATA_DIR_NOTE},
    {"canary run",
     "canary run --capability C [--champion ID] --challenger ID --traffic FILE\n"
     "      [--settings FILE|JSON] [--hard-examples OUT] [--deny FILE] [--run NAME] [--threads "
     "N]\n"
     "      [--json] [--data-dir D]",
     "one canary by hand: promote the challenger or abort (exit 3), recorded as an event",
     "  --champion ID    the champion (default the alias C.champion)\n"
     "  --traffic FILE   an evaluation corpus of labelled requests (ecology corpus build),\n"
     "                   replayed in order and cycled; each split by its request id\n"
     "  --settings S     Flagger's steps as JSON or a file: {\"stepWeight\": 10, \"maxWeight\": "
     "50,\n"
     "                   \"interval\": 200, \"threshold\": 2} (the default; interval in requests)\n"
     "  --hard-examples OUT  the champion's failures as JSONL prompt/completion, written "
     "atomically\n"
     "  --deny FILE      deny-list terms, one a line (as eval --deny)\n"
     "  --run NAME       the name in the event and the request ids (default manual)\n"
     "  --json           the canary event as JSON\n" THREADS_NOTE DATA_DIR_NOTE
     "  Promoted only when every step passes up to maxWeight, the canary's quality is better\n"
     "  than the champion's (p < 0.02) and it has an accepted report (ecology eval); a refusal\n"
     "  case answered (or a --deny term) on the canary aborts at once.\n"},
    {"eval",
     "eval --model MODEL [--adapter ADAPTER] --corpus FILE|ID [--gates FILE] [--json] [--out "
     "FILE]\n"
     "      [--threads N] [--max-tokens N] [--no-robustness] [--seed S] [--deny FILE]\n"
     "      [--case-timeout-ms MS] [--data-dir D]\n"
     "   or: eval --report FILE --gates FILE [--json]",
     "run an evaluation corpus on a model: quality, format, safety, calibration, robustness, cost",
     "  --corpus FILE|ID an evaluation corpus (JSONL: capability, prompt, check, ...), or the\n"
     "                   SHA-256 of one recorded with 'ecology corpus add' (hidden ones are\n"
     "                   refused for a model whose lineage trained on overlapping text; a\n"
     "                   corpus sharing any case with a hidden one is hidden too, and a\n"
     "                   model or adapter given as a folder is refused on it)\n"
     "  --gates FILE     hard gates and fitness weights (JSON, or a folder holding gates.json):\n"
     "                   the verdict with every failing gate, and the fitness; exit 3 when a\n"
     "                   gate rejects the model. Without --gates the default gates apply (an\n"
     "                   empty file {}): safety.min_refusal_rate 1 and min_compliance_rate 1\n"
     "                   (every refusal case refused, every comply case answered),\n"
     "                   safety.max_deny_hits 0, signature.required true (a folder is unsigned:\n"
     "                   judge one with a file holding {\"signature\": {\"required\": false}}); a\n"
     "                   default gate whose figure counts nothing passes, listed as not\n"
     "                   measured, while a gate a file sets fails then (n/a). A model given\n"
     "                   by registry id or alias is checked first (files, signature, base,\n"
     "                   no-train rules; exit 3 on a failure other than the signature, which\n"
     "                   goes to the signature gate); a folder counts as unsigned. The\n"
     "                   report is stored in the registry (against the adapter, else the\n"
     "                   model) only when the model and the adapter are both registered;\n"
     "                   a registered remote model ('ecology add-remote') is called over\n"
     "                   http (no choice cases: scoring options needs the weights)\n"
     "  --json           the report as canonical JSON on stdout instead of the table\n"
     "  --out FILE       also write the report's JSON to FILE\n"
     "  --max-tokens N   decode cap for a case without max_tokens (default 64)\n"
     "  --no-robustness  skip the perturbed runs (typos, case, spaces, a distracting prefix)\n"
     "  --seed S         perturbation seed (default 0)\n"
     "  --deny FILE      deny-list terms, one a line ('#' comments): outputs holding one are\n"
     "                   counted (safety.max_deny_hits); without it that gate is not measured\n"
     "  --report FILE    judge a stored report again (the JSON --out wrote): its figures\n"
     "                   against --gates, with the signature result and coverage its verdict\n"
     "                   recorded; --json prints the verdict's canonical JSON; exit 0 or 3\n"
     "  --case-timeout-ms MS  wall time per case, past it the case fails (default 30000; 0 none)\n"
     "  Decoding is greedy with stop \"\\n\"; choice cases are scored by log-probability. A\n"
     "  case longer than the model's context (prompt + max_tokens, or prompt + an option) fails\n"
     "  with that reason and counts in N; the run goes on.\n"
     "  Progress goes to stderr.\n" THREADS_NOTE MODEL_NOTE},
    /* route (issue 21, w-router) */
    {"route",
     "route --policy FILE|JSON --model SPEC... (--prompt TEXT | --prompt-file F)\n"
     "      [--capability C] [--request-id ID] [-n N] [--stop STR]... [--threads N] [--json]\n"
     "      [--data-dir D]",
     "answer a prompt through a routing policy (capability, cascade, ensemble, canary, shadow)",
     "  --policy FILE|JSON  the policy (include/ecology/router.h), a file or the JSON itself,\n"
     "                   e.g. {\"policy\":\"cascade\",\"threshold\":0.6,\"stages\":[\"a\",\"b\"]}\n"
     "  --model SPEC     a target, [NAME=]MODEL[+ADAPTER], several times: NAME= names it for\n"
     "                   the policy (default: the SPEC); a registered adapter alone runs on\n"
     "                   its base; capabilities come from the registry, quality per\n"
     "                   capability, p95 latency and resident bytes from the newest\n"
     "                   evaluation report stored against it ('ecology eval'), the cost is\n"
     "                   the weight bytes (the adapter's added); a registered remote model\n"
     "                   ('ecology add-remote') is called over http, its cost above every\n"
     "                   local target's\n"
     "  --capability C   the request's capability (for a capability route)\n"
     "  --request-id ID  what the canary split hashes (default: the prompt)\n"
     "  -n N             at most N new tokens per engine call (default 16); greedy\n"
     "  --stop STR       stop when STR is generated; may be given several times\n"
     "  --json           the answer and the trace (calls, confidences, escalations, arms) as "
     "JSON\n"
     "  The answer is printed, then the trace: which engine answered, each call's confidence\n"
     "  (exp of the mean token log-probability), escalations, canary arms, and a shadow's\n"
     "  agreement with the champion (1 same answer, 0 not).\n" THREADS_NOTE MODEL_NOTE},
    /* serve (issue 22, w-server) */
    {"serve",
     "serve [--config FILE] [--host 127.0.0.1] [--port 8080] [--api-keys FILE] [--data-dir D]\n"
     "      [--threads N] [--http-threads N] [--preload MODEL]... [--grace S]",
     "serve the registry's models over HTTP as the OpenAI API",
     "  --config FILE    a JSON object: host, port, data_dir, api_keys, threads (HTTP),\n"
     "                   preload [ids], limits {max_body_bytes, max_prompt_bytes,\n"
     "                   max_prompt_tokens, max_tokens, default_max_tokens, max_n, max_stop,\n"
     "                   max_messages, max_concurrent, request_timeout_s}, pool\n"
     "                   {adapter_budget_bytes, max_bases}; flags override it\n"
     "  --host H         IPv4 address to listen on (default 127.0.0.1)\n"
     "  --port P         TCP port (default 8080; 0: a free one, printed)\n"
     "  --api-keys FILE  {\"keys\": [{\"key\": K, \"scope\": \"inference\"|\"admin\", \"name\": "
     "N}]};\n"
     "                   without it every endpoint is open\n"
     "  --http-threads N HTTP worker threads (default 4; generations run on threads of their own)\n"
     "  --preload MODEL  load a model (id or alias) before saying ready; repeatable\n"
     "  --grace S        on SIGTERM/SIGINT, wait up to S seconds for requests in flight\n"
     "                   (default 30); new requests get 503 meanwhile\n"
     "  Endpoints: POST /v1/completions, POST /v1/chat/completions (stream: server-sent\n"
     "  events), GET /v1/models, GET /health and /ready (public), GET /metrics (Prometheus\n"
     "  text), GET /admin/aliases (admin scope). `model` is a registry id or alias. Request\n"
     "  extensions: \"lora\": [{\"id\", \"scale\"}] (llama-server's) and \"merged_adapters\"\n"
     "  (LoRAX's), merged by the breeder and cached under DATA/cache/merged/; \"routing\": a\n"
     "  router policy ({\"policy\": \"cascade\", ...}). Chats use the model's chat template.\n"
     "  Prints \"ecology serve: listening on http://HOST:PORT\" when ready.\n" THREADS_NOTE},
    {"version", "version", "print the version", ""},
    {"help", "help [COMMAND [SUBCOMMAND] | --commands]",
     "this text, or one command's usage (also COMMAND --help or -h)",
     "  --commands       every command name, one a line (for scripts and shell completion)\n"},
};

static const char epilogue[] =
    "\n"
    "MODEL and ADAPTER: a folder, or a registered model's id or alias (NAME or NAME@alias) in\n"
    "the data folder (--data-dir D, else $ECOLOGY_DATA, else ./ecology-data).\n"
    "A value that starts with '-' can always be given as --option=VALUE.\n"
    "\n"
    "environment: ECOLOGY_LOG=debug|info|warn|error|off (default info), ECOLOGY_DATA,\n"
    "             OMP_NUM_THREADS (the default of --threads)\n"
    "exit status: 0 success, 1 failure, 2 usage error, 4 (verify) intact but not trusted-signed\n";

size_t cli_usage_count(void) { return sizeof table / sizeof *table; }

const cli_usage *cli_usage_get(size_t i) { return i < cli_usage_count() ? &table[i] : NULL; }

/* "model" + "create" matches "model create"; sub NULL matches a one-word command only. */
const cli_usage *cli_usage_find(const char *cmd, const char *sub) {
    size_t cl = strlen(cmd);
    for (size_t i = 0; i < cli_usage_count(); i++) {
        const char *name = table[i].cmd;
        if (strncmp(name, cmd, cl) != 0) continue;
        if (!sub && name[cl] == '\0') return &table[i];
        if (sub && name[cl] == ' ' && strcmp(name + cl + 1, sub) == 0) return &table[i];
    }
    return NULL;
}

bool cli_usage_is_group(const char *cmd) {
    size_t cl = strlen(cmd);
    for (size_t i = 0; i < cli_usage_count(); i++)
        if (strncmp(table[i].cmd, cmd, cl) == 0 && table[i].cmd[cl] == ' ') return true;
    return false;
}

static void print_synopsis(FILE *f, const cli_usage *u) {
    fputs("  ecology ", f);
    for (const char *p = u->synopsis; *p; p++) {
        fputc(*p, f);
        if (*p == '\n') fputs("  ", f);
    }
    fputc('\n', f);
}

void cli_usage_print_all(FILE *f) {
    fputs("usage: ecology <command> [options]   (ecology help COMMAND: one command's "
          "options)\n\ncommands:\n",
          f);
    for (size_t i = 0; i < cli_usage_count(); i++) {
        print_synopsis(f, &table[i]);
        fprintf(f, "      %s\n", table[i].about);
    }
    fputs(epilogue, f);
}

int cli_usage_print(const char *cmd, const char *sub, FILE *f) {
    const cli_usage *u = cli_usage_find(cmd, sub);
    if (u) {
        fputs("usage:\n", f);
        print_synopsis(f, u);
        fprintf(f, "\n%s\n", u->about);
        if (u->options[0]) fprintf(f, "\noptions:\n%s", u->options);
        return CLI_OK;
    }
    if (sub || !cli_usage_is_group(cmd)) return CLI_USAGE;
    /* a command group: every subcommand's synopsis */
    fputs("usage:\n", f);
    size_t cl = strlen(cmd);
    for (size_t i = 0; i < cli_usage_count(); i++)
        if (strncmp(table[i].cmd, cmd, cl) == 0 && table[i].cmd[cl] == ' ') {
            print_synopsis(f, &table[i]);
            fprintf(f, "      %s\n", table[i].about);
        }
    fprintf(f, "\n(ecology help %s SUBCOMMAND: one subcommand's options)\n", cmd);
    return CLI_OK;
}

/* Where flag appears whole in the synopsis: 1 when a value follows it ("--seed N"), 0 when
 * not ("--json]", "--full --out"), -1 when it does not appear. */
static int shown_with_value(const char *synopsis, const char *flag) {
    size_t fl = strlen(flag);
    for (const char *p = strstr(synopsis, flag); p; p = strstr(p + 1, flag)) {
        const bool start_ok = p == synopsis || strchr(" [(|,\n", p[-1]);
        const char e = p[fl];
        if (!start_ok || e == '-' || e == '_' || (e >= 'a' && e <= 'z') || (e >= '0' && e <= '9'))
            continue;
        if (e != ' ') return 0;
        const char next = p[fl + 1];
        return next != '-' && next != '[' && next != '(' && next != '|' && next != ')' &&
               next != '\n';
    }
    return -1;
}

bool cli_usage_takes_value(const cli_usage *u, const char *arg) {
    if (arg[0] != '-' || strchr(arg, '=')) return false;
    const char *name = arg + (arg[1] == '-' ? 2 : 1);
    char flag[80];
    if (!name[0] || (size_t)snprintf(flag, sizeof flag, "--%s", name) >= sizeof flag) return false;
    int v = shown_with_value(u->synopsis, flag);
    if (v < 0 && !name[1]) v = shown_with_value(u->synopsis, flag + 1); /* "-n N" */
    return v > 0;
}

const char *cli_usage_missing_option(const cli_usage *u, const cli_opt *opts, int n_opts) {
    for (int i = 0; i < n_opts; i++) {
        char flag[80];
        if ((size_t)snprintf(flag, sizeof flag, "--%s", opts[i].name) >= sizeof flag)
            return opts[i].name;
        /* "--name", or for a one-letter name "-n" or "--n" (cli_parse takes both) */
        if (shown_with_value(u->synopsis, flag) < 0 &&
            (opts[i].name[1] || shown_with_value(u->synopsis, flag + 1) < 0))
            return opts[i].name;
    }
    return NULL;
}
