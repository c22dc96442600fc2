// placeholder: implementation lands with its issue-2 commit
