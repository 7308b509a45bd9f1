# Hyper-parameter studies and the original's numbered experiments, run by
# pipelines/study (see docs/studies.md).  Results go to runs/<name>/.
#
#   make study-units            one study: runs/units/table.md, curves.png
#   make experiment-c           one numbered experiment of the original
#   make baseline-numbers       the original's first runs on numbers
#   make studies                all of them
#   make study-images           also docs/img/study-<name>.png for each
#
# JOBS=N runs N variants at once [the number of cores]; SSHLOGINFILE=FILE
# runs them on the hosts listed in FILE instead.

STUDY_NAMES = units layers input-size minibatch-size model-seeds \
              dataset-seeds learning-rate optimizers noise rotation clones \
              dropout weight-decay grayscale minmax
EXPERIMENT_NAMES = $(addprefix experiment-,a b c d e f g h i j k)
BASELINE_NAMES = baseline-colors baseline-numbers

STUDY_ARGS = $(if $(JOBS),--jobs=$(JOBS)) \
             $(if $(SSHLOGINFILE),--sshloginfile=$(SSHLOGINFILE))

study-%: all
	pipelines/study $(STUDY_ARGS) $*

$(EXPERIMENT_NAMES) $(BASELINE_NAMES): all
	pipelines/study $(STUDY_ARGS) $@

studies: $(addprefix study-,$(STUDY_NAMES)) $(EXPERIMENT_NAMES) \
         $(BASELINE_NAMES)

study-images: all
	pipelines/study $(STUDY_ARGS) --docs-chart=docs/img $(STUDY_NAMES) \
	    $(EXPERIMENT_NAMES) $(BASELINE_NAMES)

.PHONY: studies study-images $(EXPERIMENT_NAMES) $(BASELINE_NAMES)
