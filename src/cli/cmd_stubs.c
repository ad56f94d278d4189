/* Commands not wired yet (temporary; replaced as the library lands). */
#include "cli.h"
int cmd_model(int argc, char **argv) { (void)argc; (void)argv; return cli_usage_error("model: not built yet"); }
int cmd_generate(int argc, char **argv) { (void)argc; (void)argv; return cli_usage_error("generate: not built yet"); }
int cmd_logits(int argc, char **argv) { (void)argc; (void)argv; return cli_usage_error("logits: not built yet"); }
int cmd_tokenize(int argc, char **argv) { (void)argc; (void)argv; return cli_usage_error("tokenize: not built yet"); }
int cmd_inspect(int argc, char **argv) { (void)argc; (void)argv; return cli_usage_error("inspect: not built yet"); }
